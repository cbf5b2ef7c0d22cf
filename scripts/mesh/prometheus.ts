/**
 * A real Prometheus (Debian's package, scripts/toolchain/prometheus.sh) on 127.0.0.1, scraping local exporters
 * every second: the mesh's backends (Mesh.startMetricsExporter) in the demo and the e2e suite, or an exporter a
 * test controls. PROMETHEUS_BIN overrides the binary.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

/** Prometheus scraping 127.0.0.1:`targetPorts` every second, itself on 127.0.0.1. */
export class LocalPrometheus {
    private proc?: ChildProcess;
    private dir = "";
    url = "";

    async start(...targetPorts: number[]): Promise<string> {
        const bin = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
        if (!fs.existsSync(bin)) {
            throw new Error(`${bin} not found: install Debian's prometheus package (scripts/toolchain/prometheus.sh)`);
        }
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-prom-"));
        const port = await freePort();
        fs.writeFileSync(
            path.join(this.dir, "prometheus.yml"),
            [
                "global:",
                "  scrape_interval: 1s",
                "  evaluation_interval: 1s",
                "scrape_configs:",
                "  - job_name: istio-mesh",
                "    static_configs:",
                `      - targets: ${JSON.stringify(targetPorts.map((p) => `127.0.0.1:${p}`))}`,
                "",
            ].join("\n"),
        );
        this.proc = spawn(
            bin,
            [
                `--config.file=${path.join(this.dir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(this.dir, "data")}`,
                `--web.listen-address=127.0.0.1:${port}`,
                "--log.level=warn",
            ],
            { stdio: ["ignore", "ignore", fs.openSync(path.join(this.dir, "prometheus.log"), "w")] },
        );
        this.url = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 60_000;
        for (;;) {
            if (await ready(`${this.url}/-/ready`)) {
                return this.url;
            }
            if (Date.now() > deadline || this.proc.exitCode !== null) {
                throw new Error(
                    `Prometheus did not start: ${fs.readFileSync(path.join(this.dir, "prometheus.log"), "utf8")}`,
                );
            }
            await new Promise((r) => setTimeout(r, 250));
        }
    }

    async stop(): Promise<void> {
        if (this.proc && this.proc.exitCode === null) {
            const exited = new Promise((r) => this.proc!.once("exit", r));
            this.proc.kill("SIGTERM");
            await exited;
        }
        if (this.dir) {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}

function ready(url: string): Promise<boolean> {
    return new Promise((resolve) => {
        http.get(url, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        }).on("error", () => resolve(false));
    });
}

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = http.createServer();
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address() as AddressInfo;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

/**
 * A real Prometheus (Debian's package) on 127.0.0.1 scraping an exporter the test controls. The exporter serves
 * Istio's istio_requests_total and istio_request_duration_milliseconds_bucket for the stable and canary
 * workloads, with request rates that follow the live weights and an error rate and latency the test sets.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

/** How the simulated canary behaves. */
export interface CanaryBehaviour {
    /** Fraction (0..1) of canary responses that are 503 at a canary weight. */
    errorRate: (weight: number) => number;
    /** Latency of canary responses, in ms. */
    latencyMs: number;
}

const BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
const TOTAL_RPS = 200;

/** Serves Istio metrics for `namespace`'s shop-stable and shop-canary workloads. */
export class IstioExporter {
    behaviour: CanaryBehaviour = { errorRate: () => 0, latencyMs: 20 };
    private server?: http.Server;
    private last = Date.now();
    private readonly counters = new Map<string, number>();

    constructor(
        private readonly namespace: string,
        /** The live canary weight (0..100). */
        private readonly canaryWeight: () => number,
        /** The live canary pods' `version` label (Istio's destination_version). */
        private readonly canaryVersion: () => string = () => "v-canary",
    ) {}

    private add(key: string, n: number): void {
        this.counters.set(key, (this.counters.get(key) ?? 0) + n);
    }

    /** Advances the counters by the time since the last scrape. */
    private tick(): void {
        const now = Date.now();
        const dt = (now - this.last) / 1000;
        this.last = now;
        const w = this.canaryWeight();
        // The canary also gets a trickle at weight 0 (header routing, synthetic checks), as in a real mesh.
        const canaryRps = Math.max((TOTAL_RPS * w) / 100, 5);
        const tracks: [string, string, number, number, number][] = [
            ["shop-stable", "v-stable", TOTAL_RPS - (TOTAL_RPS * w) / 100, 0, 20],
            ["shop-canary", this.canaryVersion(), canaryRps, this.behaviour.errorRate(w), this.behaviour.latencyMs],
        ];
        for (const [workload, version, rps, errorRate, latency] of tracks) {
            const n = rps * dt;
            const labels = `reporter="destination",destination_workload_namespace="${this.namespace}",destination_workload="${workload}",destination_version="${version}"`;
            this.add(`istio_requests_total{${labels},response_code="200"}`, n * (1 - errorRate));
            this.add(`istio_requests_total{${labels},response_code="503"}`, n * errorRate);
            for (const le of BUCKETS) {
                this.add(`istio_request_duration_milliseconds_bucket{${labels},le="${le}"}`, latency <= le ? n : 0);
            }
            this.add(`istio_request_duration_milliseconds_bucket{${labels},le="+Inf"}`, n);
        }
    }

    async start(): Promise<number> {
        this.server = http.createServer((_req, res) => {
            this.tick();
            const lines = [
                "# TYPE istio_requests_total counter",
                "# TYPE istio_request_duration_milliseconds_bucket counter",
                ...[...this.counters].map(([k, v]) => `${k} ${v.toFixed(3)}`),
            ];
            res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
            res.end(lines.join("\n") + "\n");
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return (this.server.address() as AddressInfo).port;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

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

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = http.createServer();
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address() as AddressInfo;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

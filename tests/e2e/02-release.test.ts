/**
 * The release bot for real: `npm run release` (the CLI) on a live stack, judged by a real Prometheus that scrapes
 * Istio metrics from an exporter the test controls.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import {
    assertStableServes,
    baseConfig,
    E2EStack,
    live,
    liveWeights,
    pollCanaryWeights,
    REPO,
    runCli,
} from "./harness";
import { IstioExporter, LocalPrometheus } from "./prometheus";
import { ReleaseResult } from "../../stacks/release/result";

const NS = "shop-release";

describe("e2e: the release bot with a real Prometheus", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let exporter: IstioExporter;
    let prometheus: LocalPrometheus;
    let reportDir: string;
    const live_ = pollCanaryWeights([NS]);
    const cli = (args: string[]) =>
        runCli("stacks/cli/release.ts", ["--stack", stack.name, "--work-dir", stack.workDir, ...args]);

    before(async () => {
        exporter = new IstioExporter(NS, () => live_.weights[NS]);
        const exporterPort = await exporter.start();
        prometheus = new LocalPrometheus();
        const url = await prometheus.start(exporterPort);
        reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-reports-"));
        stack = await E2EStack.create(
            "e2e-release",
            baseConfig(NS, {
                prometheusUrl: url,
                releaseSteps: "25,50,100",
                releaseInterval: "6s",
                releaseMetricWindow: "5s",
                releaseFailureThreshold: "2",
                releaseMinSuccessRate: "99",
                releaseMaxLatencyMs: "500",
                releaseNoData: "hold",
                releaseHoldLimit: "5",
            }),
        );
        await stack.up();
    });

    after(async () => {
        live_.stop();
        try {
            await stack?.destroyAndRemove();
        } finally {
            await prometheus?.stop();
            await exporter?.stop();
            fs.rmSync(reportDir, { recursive: true, force: true });
        }
    });

    /** Runs the CLI as a user would; returns its exit code, output and the report it wrote. */
    async function release(args: string[]): Promise<{ code: number; out: string; report: ReleaseResult }> {
        const before = new Set(fs.readdirSync(reportDir));
        const r = await cli(["--report-dir", reportDir, "--quiet", ...args]);
        const out = `${r.stdout}${r.stderr}`;
        const json = fs.readdirSync(reportDir).filter((f) => f.endsWith(".json") && !before.has(f));
        assert.strictEqual(json.length, 1, `one new JSON report\n${out}`);
        const report = JSON.parse(fs.readFileSync(path.join(reportDir, json[0]), "utf8")) as ReleaseResult;
        for (const ext of [".md", ".svg"]) {
            assert.ok(fs.existsSync(path.join(reportDir, json[0].replace(/\.json$/, ext))), `${ext} report written`);
        }
        return { code: r.code, out, report };
    }

    it("a healthy canary completes: live VirtualService at stable 100 running the new version", async () => {
        exporter.behaviour = { errorRate: () => 0, latencyMs: 20 };
        const { code, out, report } = await release(["--image", "registry.example.test/shop:2.0.0", "--version", "v2"]);
        assert.strictEqual(code, 0, out);
        assert.strictEqual(report.outcome, "completed");
        const analyses = report.events
            .filter((e) => e.kind === "analysis" && e.verdict === "pass")
            .map((e) => e.weight);
        assert.deepStrictEqual(analyses, [25, 50, 100]);
        const sr = report.events
            .find((e) => e.kind === "analysis" && e.verdict === "pass")!
            .checks!.find((c) => c.name === "success-rate")!;
        assert.ok(sr.value! >= 99.9, `success rate measured by Prometheus: ${sr.value}`);
        assertStableServes(NS, "registry.example.test/shop:2.0.0", "v2");
        // Every state change is an update in the stack's history.
        const history = JSON.parse(stack.pulumi(["stack", "history", "--json"])) as { message?: string }[];
        const messages = history.map((h) => h.message ?? "").filter((m) => m.startsWith("release v2:"));
        assert.ok(messages.length >= 5, messages.join("\n"));
        assert.match(
            out,
            /weight {2}25 {2}success-rate=\d+(\.\d+)?% \(min 99\) pass {2}latency-p99=\d+(\.\d+)?ms \(max 500\) pass {2}-> pass/,
        );
    });

    it("a canary answering 5xx from weight 50 is rolled back at 50: live weights back to 0, non-zero exit, report", async () => {
        exporter.behaviour = { errorRate: (w) => (w >= 50 ? 0.3 : 0), latencyMs: 20 };
        const { code, out, report } = await release(["--image", "registry.example.test/shop:3.0.0", "--version", "v3"]);
        assert.strictEqual(code, 1, out);
        assert.strictEqual(report.outcome, "rolled-back");
        const analyses = report.events
            .filter((e) => e.kind === "analysis" && e.verdict !== "hold")
            .map((e) => `${e.weight}:${e.verdict}`);
        assert.deepStrictEqual(analyses, ["25:pass", "50:fail", "50:fail"]);
        assert.match(
            report.reason,
            /^2 failed analyses \(threshold 2\) at steps 50: success-rate=\d+(\.\d+)?% \(min 99\) fail/,
        );
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        const canary = live("deployment", NS, "shop-canary")!;
        assert.strictEqual(
            canary.spec.template.metadata.labels.version,
            "v2",
            "canary track back on the stable version",
        );
        const rollback = report.events.find((e) => e.kind === "rollback" && e.durationMs !== undefined)!;
        assert.match(rollback.message, /targeted update of the VirtualService/);
        console.log(`      rollback (traffic back on stable): ${rollback.durationMs} ms`);
    });

    it("a bot killed mid-release resumes from the weight in stack config and analyses that step again", async () => {
        exporter.behaviour = { errorRate: () => 0, latencyMs: 20 };
        // Start the bot in its own process group, kill the whole group (bot and any pulumi child) with SIGKILL
        // right after it shifted to 50 (while it waits to analyse that step).
        const child = spawn(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "stacks/cli/release.ts",
                "--stack",
                stack.name,
                "--work-dir",
                stack.workDir,
                "--report-dir",
                reportDir,
                "--quiet",
                "--image",
                "registry.example.test/shop:3.0.0",
            ],
            { cwd: REPO, env: process.env, detached: true },
        );
        let out = "";
        await new Promise<void>((resolve, reject) => {
            child.stdout.on("data", (c: Buffer) => {
                out += c.toString();
                if (/shifted: stable 50 \/ canary 50/.test(out)) {
                    process.kill(-child.pid!, "SIGKILL");
                }
            });
            child.on("exit", (_code, signal) =>
                signal === "SIGKILL" ? resolve() : reject(new Error(`bot ended on its own:\n${out}`)),
            );
        });
        const config = await stack.stack.getAllConfig();
        assert.strictEqual(config["istio-canary:releaseStatus"].value, "in-progress");
        assert.strictEqual(config["istio-canary:canaryWeight"].value, "50");

        const { code, out: resumed, report } = await release(["--resume"]);
        assert.strictEqual(code, 0, resumed);
        assert.strictEqual(report.events[0].kind, "resume");
        assert.strictEqual(report.events[0].weight, 50, "continues from the weight in stack config, not 0");
        assert.deepStrictEqual(
            report.events.filter((e) => e.kind === "analysis" && e.verdict === "pass").map((e) => e.weight),
            [50, 100],
            "the step it was killed in is analysed, not skipped",
        );
        assert.ok(!report.events.some((e) => e.kind === "shift" && e.weight < 50), "never restarts lower");
        assertStableServes(NS, "registry.example.test/shop:3.0.0", "3.0.0");
    });

    it("--dry-run previews every step and changes nothing: config, history and live objects stay", async () => {
        const historyBefore = (JSON.parse(stack.pulumi(["stack", "history", "--json"])) as unknown[]).length;
        const configBefore = await stack.stack.getAllConfig();
        const vsBefore = live("virtualservices.networking.istio.io", NS, "shop")!.metadata.resourceVersion;
        const { code, out, report } = await release(["--image", "registry.example.test/shop:9.0.0", "--dry-run"]);
        assert.strictEqual(code, 0, out);
        assert.strictEqual(report.dryRun, true);
        assert.deepStrictEqual(
            report.events.filter((e) => e.kind === "shift").map((e) => e.weight),
            [25, 50, 100],
        );
        assert.ok(
            report.events.filter((e) => e.kind === "shift").every((e) => (e.changes?.update ?? 0) >= 1),
            "each preview shows the routing update",
        );
        assert.strictEqual(
            (JSON.parse(stack.pulumi(["stack", "history", "--json"])) as unknown[]).length,
            historyBefore,
        );
        assert.deepStrictEqual(await stack.stack.getAllConfig(), configBefore);
        assert.strictEqual(live("virtualservices.networking.istio.io", NS, "shop")!.metadata.resourceVersion, vsBefore);
    });

    it("refuses a second release while one is recorded in progress, changing nothing", async () => {
        await stack.set({
            releaseStatus: "in-progress",
            releaseVersion: "v4",
            releaseImage: "registry.example.test/shop:4.0.0",
        });
        const r = await cli(["--image", "registry.example.test/shop:5.0.0"]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /a release is already in progress on stack e2e-release: v4 at canaryWeight 0/);
        await stack.set({
            releaseStatus: "rolled-back",
            releaseVersion: "v3",
            releaseImage: "registry.example.test/shop:3.0.0",
        });
    });
});

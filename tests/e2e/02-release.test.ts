/**
 * The release bot for real: `npm run release` (the CLI) on a live stack, judged by a real Prometheus on real
 * traffic: a proxyless gRPC client routed by istiod over xDS sends requests continuously to one backend process per
 * pod (scripts/mesh), whose outcomes Prometheus scrapes under Istio's standard metric names. The client measures
 * where requests really go: the canary's share after a completed or rolled-back release, and how long after the
 * bot's rollback decision the last request reached the canary. Runs across several runners (two clones, the release lease) are
 * in 12-runners.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { assertStableServes, E2EStack, live, liveWeights, releaseCli, runCli, spawnBot, tearDownMesh } from "./harness";
import { ReleaseMeshParts, startReleaseMesh } from "./release-mesh";
import { BatchResult, Mesh, MeshClient } from "../../scripts/mesh/mesh";

const NS = "shop-release";

describe("e2e: the release bot with a real Prometheus", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let mesh: Mesh;
    let client: MeshClient;
    let reportDir: string;
    /** Requests per second the client sends through the whole release. */
    const RPS = 60;
    const cli = (args: string[], onOutput?: Parameters<typeof runCli>[2]) =>
        runCli(
            "stacks/cli/release.ts",
            ["--stack", stack.name, "--work-dir", stack.workDir, ...args],
            onOutput,
            stack.env,
        );

    /** Where requests go once the routes have settled: `n` requests after a first batch shows no canary. */
    async function measuredSplit(n = 1000): Promise<BatchResult> {
        const deadline = Date.now() + 20_000;
        while ((await client.batch(50)).byTrack.canary !== undefined) {
            assert.ok(Date.now() < deadline, "requests still reach the canary 20 s after the release ended");
        }
        const r = await client.batch(n, { concurrency: 16 });
        assert.deepStrictEqual(r.errors, {}, "no failed requests");
        return r;
    }

    const parts: ReleaseMeshParts = {};
    before(async () => {
        ({ mesh, stack, client, reportDir } = await startReleaseMesh(parts, {
            namespace: NS,
            label: "release",
            stackName: "e2e-release",
            rps: RPS,
        }));
    });

    after(() => tearDownMesh({ first: () => parts.client?.stopLoad() ?? Promise.resolve(), ...parts }));

    /** Runs the CLI as a user would; returns its exit code, output and the report it wrote. */
    const release = (args: string[], onOutput?: Parameters<typeof runCli>[2]) =>
        releaseCli(stack, reportDir, args, onOutput);

    it("a healthy canary completes: live VirtualService at stable 100 running the new version, measured", async () => {
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
        // Measured: no request reaches the canary any more, and stable answers with the new version.
        const r = await measuredSplit();
        assert.deepStrictEqual(Object.keys(r.byTrackVersion), ["stable/v2"], JSON.stringify(r.byTrackVersion));
        console.log(`      after completion: ${r.ok} requests -> ${JSON.stringify(r.byTrackVersion)}`);
    });

    it("a canary failing 30% of its requests is rolled back: measured canary share back to 0, time from the decision", async () => {
        await mesh.setBehaviour("v3", { errorRate: 0.3, latencyMs: 0 });
        const { code, out, report } = await release(["--image", "registry.example.test/shop:3.0.0", "--version", "v3"]);
        assert.strictEqual(code, 1, out);
        assert.strictEqual(report.outcome, "rolled-back");
        const analyses = report.events
            .filter((e) => e.kind === "analysis" && e.verdict !== "hold")
            .map((e) => `${e.weight}:${e.verdict}`);
        assert.deepStrictEqual(analyses, ["25:fail", "25:fail"]);
        assert.match(
            report.reason,
            /^2 failed analyses \(threshold 2\) at steps 25: success-rate=\d+(\.\d+)?% \(min 99\) fail/,
        );
        const sr = report.events
            .find((e) => e.kind === "analysis" && e.verdict === "fail")!
            .checks!.find((c) => c.name === "success-rate")!;
        assert.ok(
            sr.value! > 50 && sr.value! < 90,
            `success rate of a canary failing 30%, from Prometheus: ${sr.value}`,
        );
        // Measured by the client: when did the last request reach the canary, after the bot decided to roll back?
        const decision = Date.parse(report.events.find((e) => e.kind === "rollback")!.time);
        const events = await client.events(Date.parse(report.startedAt));
        assert.ok(
            events.some((e) => e[1] === "canary"),
            "requests reached the canary during the release",
        );
        const lastCanary = Math.max(...events.filter((e) => e[1] === "canary").map((e) => e[0]));
        const r = await measuredSplit();
        assert.strictEqual(r.byTrack.canary ?? 0, 0);
        // The bot's targeted rollback update ends at decision + durationMs; istiod's push follows within a second.
        const routed = report.events.find((e) => e.kind === "rollback" && e.durationMs !== undefined)!;
        const rollbackDone = decision + routed.durationMs!;
        console.log(
            `      rollback: last request to the canary ${lastCanary - decision} ms after the bot's decision ` +
                `(its rollback update took ${routed.durationMs} ms); then ${r.ok} requests -> ${JSON.stringify(r.byTrackVersion)}`,
        );
        assert.ok(
            lastCanary <= rollbackDone + 5000,
            `requests reached the canary ${lastCanary - rollbackDone} ms after the rollback update ended`,
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
        assert.match(rollback.message, /direct patch of VirtualService shop-release\/shop/);
        console.log(`      rollback (traffic back on stable): ${rollback.durationMs} ms`);
    });

    it("a bot killed mid-release resumes from the weight in stack config and analyses that step again", async () => {
        // Kill the bot's whole process group (bot and any pulumi child) with SIGKILL right after it shifted to 50
        // (while it waits to analyse that step).
        await spawnBot(
            ["--stack", stack.name, "--work-dir", stack.workDir, "--report-dir", reportDir, "--quiet"],
            ["--image", "registry.example.test/shop:3.0.0"],
            (out) => /shifted: stable 50 \/ canary 50/.test(out),
            stack.env,
        );
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
        // The checkout now disagrees with what is deployed: refused, unless told which side wins.
        const disagree = await cli(["--image", "registry.example.test/shop:5.0.0"]);
        assert.strictEqual(disagree.code, 2);
        assert.match(
            disagree.stderr,
            /the checkout's config of stack e2e-release disagrees with what is deployed: releaseStatus is "in-progress" here, "completed" deployed/,
        );
        const r = await cli(["--image", "registry.example.test/shop:5.0.0", "--config-from", "checkout"]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /a release is already in progress on stack e2e-release: v4 at canaryWeight 0/);
        await stack.set({
            releaseStatus: "completed",
            releaseVersion: "3.0.0",
            releaseImage: "registry.example.test/shop:3.0.0",
        });
    });

    it("SIGTERM: interrupted (exit 8), resumable; then a kubectl edit is found before the next stage (exit 9)", async () => {
        let signalled = false;
        const stopped = await release(["--image", "registry.example.test/shop:4.0.0"], (out, child) => {
            if (!signalled && /shifted: stable 75 \/ canary 25/.test(out)) {
                signalled = true;
                child.kill("SIGTERM");
            }
        });
        assert.strictEqual(stopped.code, 8, stopped.out);
        assert.deepStrictEqual([stopped.report.outcome, stopped.report.trafficMoved], ["interrupted", true]);
        const config = await stack.stack.getAllConfig();
        assert.strictEqual(config["istio-canary:releaseStatus"].value, "in-progress");
        assert.strictEqual(config["istio-canary:canaryWeight"].value, "25");
        assert.strictEqual(config["istio-canary:releaseOwner"], undefined, "the lease was let go");
        // Someone edits the live route by hand while the bot is stopped.
        const vs = live("virtualservices.networking.istio.io", NS, "shop")!;
        const weighted = (vs.spec.http as { name: string }[]).findIndex((h) => h.name === "weighted");
        execFileSync(process.env.KUBECTL!, [
            "patch",
            "virtualservices.networking.istio.io",
            "-n",
            NS,
            "shop",
            "--type=json",
            "-p",
            JSON.stringify([
                { op: "replace", path: `/spec/http/${weighted}/route/0/weight`, value: 60 },
                { op: "replace", path: `/spec/http/${weighted}/route/1/weight`, value: 40 },
            ]),
        ]);
        const drifted = await release(["--resume"]);
        assert.strictEqual(drifted.code, 9, drifted.out);
        assert.match(
            drifted.report.reason,
            /^the live routing objects differ from the stack's state: update VirtualService shop-vs \(spec\.http/,
        );
        assert.deepStrictEqual(
            liveWeights(NS, "shop"),
            [
                ["stable", 60],
                ["canary", 40],
            ],
            "the bot did not overwrite the edit",
        );
        // Undo the edit as the bot's message says (`pulumi up --refresh`), then resume.
        await stack.up({ refresh: true });
        const resumed = await release(["--resume"]);
        assert.strictEqual(resumed.code, 0, resumed.out);
        assertStableServes(NS, "registry.example.test/shop:4.0.0", "4.0.0");
    });

    it("a bot killed during a rollback: --resume finishes the rollback", async () => {
        await mesh.setBehaviour("5.0.0", { errorRate: 0.5, latencyMs: 0 });
        const stackFile = path.join(stack.workDir, `Pulumi.${stack.name}.yaml`);
        // Killed as soon as "rolling-back" is in the stack's config, before the routing update ran.
        await spawnBot(
            ["--stack", stack.name, "--work-dir", stack.workDir, "--report-dir", reportDir, "--quiet"],
            ["--image", "registry.example.test/shop:5.0.0", "--failure-threshold", "1"],
            () => /releaseStatus: rolling-back/.test(fs.readFileSync(stackFile, "utf8")),
            stack.env,
        );
        const config = await stack.stack.getAllConfig();
        assert.strictEqual(config["istio-canary:releaseStatus"].value, "rolling-back");
        const { code, out, report } = await release(["--resume", "--config-from", "checkout"]);
        assert.strictEqual(code, 1, `exit 1: rolled back, the canary was unhealthy\n${out}`);
        assert.match(report.events[0].message, /^resuming the rollback of 5\.0\.0: 1 failed analyses/);
        assertStableServes(NS, "registry.example.test/shop:4.0.0", "4.0.0");
        assert.strictEqual(live("deployment", NS, "shop-canary")!.spec.template.metadata.labels.version, "4.0.0");
    });
});

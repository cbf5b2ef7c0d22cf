/**
 * Gates and webhooks for real: `npm run release` on a live stack, judged by a real Prometheus, calling signed
 * webhooks on a hook server on 127.0.0.1 that the test controls. A failing pre-rollout hook aborts the release
 * with no user traffic moved; a confirm-promotion hook that answers 2xx only after two tries completes it; a
 * manual gate stops the bot (exit 10) until `--approve`.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    assertStableServes,
    baseConfig,
    E2EStack,
    FAST_RELEASE_POLICY,
    live,
    pollCanaryWeights,
    releaseCli,
    ReleaseRun,
} from "./harness";
import { IstioExporter, LocalPrometheus } from "./prometheus";
import { writeStackConfig } from "../../stacks/automation/local-stack";
import { HookServer } from "../stacks/release/hook-server";

const NS = "shop-gates";
const SECRET = "e2e-hook-secret-7f3a";

describe("e2e: gates and webhooks", function () {
    this.timeout(20 * 60 * 1000);
    const weights = pollCanaryWeights([NS]);
    const exporter = new IstioExporter(
        NS,
        () => weights.weights[NS],
        () => weights.versions[NS],
    );
    const prometheus = new LocalPrometheus();
    const hooks = new HookServer();
    hooks.secret = SECRET;
    let stack: E2EStack;
    /** The highest live canary weight seen since the last reset (polled every second). */
    let maxSeen = 0;
    const watch = setInterval(() => (maxSeen = Math.max(maxSeen, weights.weights[NS])), 250);

    /** Runs the release CLI; returns its exit code, output and the report it wrote. */
    async function release(args: string[]): Promise<ReleaseRun> {
        const run = await releaseCli(stack, path.join(stack.workDir, "reports"), args);
        const markdown = fs.readFileSync(run.reportFile.replace(/\.json$/, ".md"), "utf8");
        assert.ok(!`${run.out}${JSON.stringify(run.report)}${markdown}`.includes(SECRET), "the hook secret leaked");
        return run;
    }

    before(async () => {
        weights.start(); // the exporter's canary version and the weight watch read what it polls
        const url = await prometheus.start(await exporter.start());
        const hookUrl = await hooks.start();
        stack = await E2EStack.create(
            "e2e-gates",
            baseConfig(NS, {
                prometheusUrl: url,
                ...FAST_RELEASE_POLICY,
                canaryHeader: "x-canary",
                canaryHeaderValue: "always",
                releaseHooks: JSON.stringify([
                    { name: "smoke", type: "pre-rollout", url: `${hookUrl}/smoke`, timeout: "2s", retries: 1 },
                    { name: "confirm", type: "confirm-promotion", url: `${hookUrl}/confirm`, retries: 0 },
                ]),
                releaseHookConfirmLimit: "2m",
            }),
        );
        await writeStackConfig(stack.stack, { releaseHookSecret: SECRET }, ["releaseHookSecret"]);
        await stack.up();
    });

    after(async () => {
        clearInterval(watch);
        weights.stop();
        try {
            await stack?.destroyAndRemove();
        } finally {
            await hooks.stop();
            await prometheus.stop();
            await exporter.stop();
        }
    });

    it("a failing pre-rollout hook aborts the release with no user traffic moved", async () => {
        hooks.answer = (_n, p) => (p === "/smoke" ? { status: 500, body: "smoke test failed" } : { status: 200 });
        maxSeen = 0;
        const { code, out, report } = await release(["--image", "registry.example.test/shop:2.0.0", "--version", "v2"]);
        assert.strictEqual(code, 1, out);
        assert.strictEqual(report.outcome, "rolled-back");
        assert.strictEqual(report.cause, "hook");
        assert.match(report.reason, /^pre-rollout hook smoke \(pre-rollout, http:\/\/127\.0\.0\.1:\d+\): HTTP 500/);
        assert.strictEqual(maxSeen, 0, "the live canary weight never left 0");
        assert.ok(
            report.events.every((e) => e.weight === 0),
            report.events.map((e) => `${e.kind}@${e.weight}`).join(" "),
        );
        const smoke = hooks.to("/smoke");
        assert.strictEqual(smoke.length, 2, "one retry");
        assert.ok(
            smoke.every((r) => r.signed === true),
            "signed with the stack secret",
        );
        assert.strictEqual(smoke[0].payload.weight, 0);
        assert.deepStrictEqual(smoke[0].payload.canaryHeader, { name: "x-canary", value: "always" });
        assert.strictEqual(hooks.to("/confirm").length, 0);
        assertStableServes(NS, "registry.example.test/shop:1.0.0", "v1");
    });

    it("a confirm-promotion hook answering 2xx only after two tries holds, then completes the release", async () => {
        const first = hooks.received.length;
        hooks.answer = (n, p) => (p === "/confirm" && n < 2 ? { status: 409, body: "not yet" } : { status: 200 });
        const { code, out, report } = await release(["--image", "registry.example.test/shop:2.0.0", "--version", "v2"]);
        assert.strictEqual(code, 0, out);
        assert.strictEqual(report.outcome, "completed");
        const confirm = hooks.received.slice(first).filter((r) => r.path === "/confirm");
        assert.strictEqual(confirm.length, 3);
        assert.ok(confirm.every((r) => r.signed === true && r.payload.weight === 100));
        assert.deepStrictEqual(
            report.hooks?.map((h) => [h.hook, h.type, h.attempts, h.status, h.ok]),
            [
                ["smoke", "pre-rollout", 1, 200, true],
                ["confirm", "confirm-promotion", 3, 200, true],
            ],
        );
        assertStableServes(NS, "registry.example.test/shop:2.0.0", "v2");
    });

    it("a manual gate stops the bot with exit 10 and traffic held; --approve completes from the gate", async () => {
        hooks.answer = () => ({ status: 200 });
        const stop = await release([
            "--image",
            "registry.example.test/shop:3.0.0",
            "--version",
            "v3",
            "--gates",
            "100",
        ]);
        assert.strictEqual(stop.code, 10, stop.out);
        assert.strictEqual(stop.report.outcome, "awaiting-approval");
        assert.match(
            stop.out,
            /npm run release -- --stack e2e-gates --approve --version v3 --gate 100 --image registry\.example\.test\/shop:3\.0\.0/,
        );
        const config = await stack.stack.getAllConfig();
        assert.strictEqual(config["istio-canary:releaseStatus"].value, "awaiting-approval");
        assert.strictEqual(config["istio-canary:canaryWeight"].value, "50");
        const vs = live("virtualservice", NS, "shop")!;
        assert.ok(JSON.stringify(vs.spec).includes('"weight":50'), "traffic held at the step before the gate");

        const go = await release([
            "--approve",
            "--gate",
            "100",
            "--by",
            "e2e-approver",
            "--version",
            "v3",
            "--image",
            "registry.example.test/shop:3.0.0",
        ]);
        assert.strictEqual(go.code, 0, go.out);
        assert.strictEqual(go.report.outcome, "completed");
        assert.deepStrictEqual(
            go.report.approvals?.map((a) => [a.gate, a.version, a.image, a.decision, a.by]),
            [["100", "v3", "registry.example.test/shop:3.0.0", "approve", "e2e-approver"]],
        );
        assertStableServes(NS, "registry.example.test/shop:3.0.0", "v3");
        const history = JSON.parse(stack.pulumi(["stack", "history", "--json"])) as { message?: string }[];
        assert.ok(
            history.some((h) => /approved by e2e-approver/.test(h.message ?? "")),
            "the approval is an update in the stack's history",
        );
    });
});

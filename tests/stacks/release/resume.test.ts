import * as assert from "assert";
import { exitCode } from "../../../stacks/release/result";
import { runRelease } from "../../../stacks/release/run";
import { SETTLE_MS } from "../../../stacks/release/lease";
import { FakeStack, health, locked } from "../fakes";
import { analyses, releaseBench, stackConfig, V2 } from "./bench";

describe("release bot: resume, locks, preflight and options (fake stack and clock, Prometheus API on 127.0.0.1)", function () {
    this.timeout(20000);
    const b = releaseBench();
    it("resumes after a kill from the weight in stack config, analysing that step again", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        // Kill the bot during its first wait at weight 25 (after the shift, before the analysis).
        b.clock.onSleep = () => {
            if (stack.config.canaryWeight === "25") {
                throw new Error("killed");
            }
        };
        await assert.rejects(b.run(stack), /killed/);
        assert.strictEqual(stack.config.releaseStatus, "in-progress");
        assert.strictEqual(stack.config.canaryWeight, "25");
        const upsBefore = stack.ups.length;

        b.clock.onSleep = undefined;
        const result = await b.run(stack, { resume: true });
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(
            stack.weights().slice(upsBefore),
            [25, 50, 100, 100, 0, 0],
            "no restart at 0: converge at 25, then on",
        );
        assert.deepStrictEqual(
            analyses(result).map((e) => e.weight),
            [25, 50, 100],
            "the step it was killed in is analysed, not skipped",
        );
        assert.strictEqual(stack.config.stableVersion, "v2");
    });

    it("resume refuses when nothing is in progress, and a second bot refuses while a release is in progress", async () => {
        const idle = new FakeStack(stackConfig());
        await assert.rejects(b.run(idle, { resume: true }), {
            message:
                'nothing to resume on stack dev: releaseStatus is "idle", not "in-progress", "awaiting-approval" or "rolling-back"',
        });
        const busy = new FakeStack(
            stackConfig({
                releaseStatus: "in-progress",
                releaseVersion: "v2",
                releaseImage: V2,
                canaryImage: V2,
                canaryVersion: "v2",
                canaryWeight: "25",
            }),
        );
        const before = { ...busy.config };
        await assert.rejects(b.run(busy, { image: "registry.example.test/shop:3.0.0" }), {
            name: "PreflightError",
            message:
                "a release is already in progress on stack dev: v2 at canaryWeight 25. Resume it with --resume (only if no other bot is running it).",
        });
        assert.deepStrictEqual(busy.config, before);
        assert.deepStrictEqual(busy.ups, []);
    });

    it("a locked stack (concurrent update) pauses and leaves the config as it was", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        const before = { ...stack.config };
        stack.failUp = () => locked();
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "paused");
        assert.strictEqual(exitCode(result), 4);
        assert.strictEqual(
            result.reason,
            "stack locked by another update while starting: the stack is currently locked by 1 lock(s)",
        );
        assert.deepStrictEqual(stack.config, before);
    });

    it("runs the mirror and header phases before the first shift", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(
            stackConfig({ releaseMirrorPercent: "50", releaseHeaderPhase: "true", canaryHeader: "x-canary" }),
        );
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(
            stack.ups.map((u) => [u.config.releasePhase, u.config.canaryWeight]),
            [
                ["steps", "0"],
                ["mirror", "0"],
                ["header", "0"],
                ["steps", "10"],
                ["steps", "25"],
                ["steps", "50"],
                ["steps", "100"],
                ["complete", "100"],
                ["complete", "0"],
                [undefined, "0"],
            ],
        );
        assert.deepStrictEqual(
            analyses(result).map((e) => e.phase),
            ["mirror", "header", "steps", "steps", "steps", "steps"],
        );
    });

    it("dry run walks the plan without waiting or analysing", async () => {
        // Nothing is applied, so every preview also shows the start's canary Deployment update.
        const stack = new FakeStack(stackConfig(), [], { previewOnly: true });
        const before = b.clock.now().getTime();
        const result = await b.run(stack, { image: V2, dryRun: true });
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(b.clock.now().getTime(), before + SETTLE_MS, "no waiting but the lease's settle time");
        assert.deepStrictEqual(
            analyses(result).map((e) => [e.weight, e.message]),
            [10, 25, 50, 100].map((w) => [w, "would analyse: success-rate, latency-p99"]),
        );
        assert.strictEqual(b.prom.queries.length, 3, "only preflight's queries: the ping and each check once");
    });

    it("checks the whole program config before changing anything", async () => {
        const stack = new FakeStack(stackConfig({ canaryWieght: "50" }));
        await assert.rejects(b.run(stack), {
            name: "PreflightError",
            message:
                "the stack config of dev is invalid:\nistio-canary:canaryWieght is not a config key of this program; did you mean canaryWeight? (see the config reference in README.md)",
        });
        assert.deepStrictEqual(stack.ups, []);
    });

    it("refuses to release with every health check off (a request count alone is not a health check)", async () => {
        const stack = new FakeStack(stackConfig({ releaseMinRequests: "10" }));
        await assert.rejects(
            b.run(stack, { image: V2, policy: { minSuccessRate: undefined, maxLatencyMs: undefined } }),
            {
                message:
                    "no health checks: keep releaseMinSuccessRate or releaseMaxLatencyMs above 0, or add releaseChecks (a minimum request count alone says nothing about health)",
            },
        );
    });

    it("a policy override of undefined turns a check off (--min-success-rate 0)", async () => {
        b.prom.answer = health(10, 10); // a terrible success rate that must not be looked at
        const stack = new FakeStack(stackConfig());
        const result = await b.run(stack, { image: V2, policy: { minSuccessRate: undefined } });
        assert.strictEqual(result.outcome, "completed");
        assert.ok(analyses(result).every((e) => e.checks!.map((c) => c.name).join() === "latency-p99"));
    });

    it("query errors between holds are still counted as consecutive only when consecutive", async () => {
        const seq = [
            { httpError: 503, message: "x" },
            { empty: true },
            { httpError: 503, message: "x" },
            { empty: true },
        ];
        let n = 0;
        const stack = new FakeStack(
            stackConfig({ releaseErrorLimit: "2", releaseNoData: "hold", releaseHoldLimit: "5" }),
        );
        b.prom.answer = (q) =>
            stack.config.canaryWeight !== "0" && n < seq.length * 2
                ? (seq[Math.floor(n++ / 2)] as never)
                : health(100, 10)(q);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "completed", result.reason);
        assert.deepStrictEqual(
            analyses(result)
                .slice(0, 5)
                .map((e) => e.verdict),
            ["error", "hold", "error", "hold", "pass"],
        );
    });

    it("a failed completion rolls back to the stable version the release started from", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) =>
            c.releasePhase === "complete" && c.stableVersion === "v2" ? new Error("error: timed out") : undefined;
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /^pulumi up failed while completing: error: timed out$/);
        assert.strictEqual(stack.config.stableImage, "registry.example.test/shop:1.0.0");
        assert.strictEqual(stack.config.stableVersion, "v1");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
    });

    it("resumes a release paused by a lock before its first shift, from the first step", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.canaryWeight === "10" ? locked() : undefined);
        const first = await b.run(stack);
        assert.strictEqual(first.outcome, "paused");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "in-progress");
        stack.failUp = undefined;
        const resumed = await b.run(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "completed");
        assert.deepStrictEqual(
            analyses(resumed).map((e) => e.weight),
            [10, 25, 50, 100],
        );
    });

    it("resumes a mirror phase by turning mirroring on again and analysing it", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig({ releaseMirrorPercent: "30" }));
        b.clock.onSleep = () => {
            if (stack.config.releasePhase === "mirror") {
                throw new Error("killed");
            }
        };
        await assert.rejects(b.run(stack), /killed/);
        b.clock.onSleep = undefined;
        const upsBefore = stack.ups.length;
        const resumed = await b.run(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "completed");
        assert.strictEqual(stack.ups[upsBefore].config.releasePhase, "mirror", "the mirror stage is applied again");
        assert.deepStrictEqual(
            analyses(resumed)
                .map((e) => `${e.phase}:${e.weight}`)
                .slice(0, 2),
            ["mirror:0", "steps:10"],
        );
    });

    it("a lock during rollback keeps the rollback in config (any later up finishes it) and says how to finish", async () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.releaseStatus === "rolling-back" ? locked() : undefined);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "rolling-back");
        assert.strictEqual(
            result.manualSteps![0],
            "wait for the update holding the lock, or release it: pulumi cancel --stack dev --yes",
        );
    });

    it("rejects a bad image or version before changing anything", async () => {
        const stack = new FakeStack(stackConfig());
        await assert.rejects(b.run(stack, { image: "Registry/App:2" }), {
            message:
                '--image must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got "Registry/App:2"',
        });
        await assert.rejects(b.run(stack, { image: V2, version: "v2/beta" }), {
            message:
                '--version must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "v2/beta"',
        });
        assert.deepStrictEqual(stack.ups, []);
    });

    it("queries Prometheus with the secret credentials from stack config, and keeps them out of the result", async () => {
        b.prom.answer = health(100, 10);
        b.prom.requireAuthorization = "Bearer s3cr3t-token";
        const stack = new FakeStack(stackConfig({ prometheusUrl: b.url, prometheusToken: "s3cr3t-token" }), [
            "prometheusToken",
        ]);
        const result = await runRelease({ image: V2 }, { stack, clock: b.clock, log: (l) => b.lines.push(l) });
        assert.strictEqual(result.outcome, "completed");
        assert.ok(!JSON.stringify(result).includes("s3cr3t-token"), "not in the result (the report)");
        assert.ok(!b.lines.join("\n").includes("s3cr3t-token"), "not in the log");

        b.prom.requireAuthorization = `Basic ${Buffer.from("bot:pa55").toString("base64")}`;
        const basic = new FakeStack(
            stackConfig({ prometheusUrl: b.url, prometheusUser: "bot", prometheusPassword: "pa55" }),
            ["prometheusPassword"],
        );
        assert.strictEqual(
            (await runRelease({ image: V2 }, { stack: basic, clock: b.clock, log: () => undefined })).outcome,
            "completed",
        );

        const wrong = new FakeStack(stackConfig({ prometheusUrl: b.url, prometheusToken: "nope" }), [
            "prometheusToken",
        ]);
        await assert.rejects(
            runRelease({ image: V2 }, { stack: wrong, clock: b.clock, log: () => undefined }),
            /^PreflightError: Prometheus refused the bot's credentials, so the canary cannot be judged: .* answered HTTP 401: unauthorized/,
        );
    });

    it("refuses a Prometheus token stored in plaintext", async () => {
        const stack = new FakeStack(stackConfig({ prometheusUrl: b.url, prometheusToken: "s3cr3t-token" }));
        await assert.rejects(b.run(stack), (e: Error) => {
            assert.match(e.message, /prometheusToken must be set as a secret/);
            assert.ok(!e.message.includes("s3cr3t-token"));
            return true;
        });
    });

    it("a release of the version already running is a no-op", async () => {
        const stack = new FakeStack(stackConfig({ stableImage: V2, stableVersion: "v2" }));
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "no-op");
        assert.deepStrictEqual(stack.ups, []);
    });

    it("flag overrides win over the stack's policy", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        await b.run(stack, { image: V2, policy: { steps: [50, 100] } });
        assert.deepStrictEqual(stack.weights(), [0, 50, 100, 100, 0, 0]);
    });
});

import * as assert from "assert";
import {
    exitCode,
    imageTag,
    planStages,
    PreflightError,
    ReleaseResult,
    runRelease,
} from "../../stacks/release/release";
import { PrometheusClient } from "../../stacks/release/prometheus";
import { parseReleaseConfig } from "../../components/config";
import { FakeClock, FakePrometheus, FakeStack, health, locked, VS_URN } from "./fakes";
import { validConfig } from "../fixtures/config";

const V2 = "registry.example.test/shop:2.0.0";

/** A valid program config (the bot checks the whole of it before changing anything) with a fast policy. */
function stackConfig(extra: Record<string, string> = {}): Record<string, string> {
    return {
        ...validConfig(),
        namespace: "prod",
        canaryWeight: "0",
        releaseSteps: "10,25,50,100",
        releaseInterval: "1m",
        ...extra,
    };
}

describe("release bot (state machine, fake stack and clock, Prometheus API on 127.0.0.1)", function () {
    this.timeout(20000);
    let prom: FakePrometheus;
    let url: string;
    let clock: FakeClock;
    let lines: string[];

    beforeEach(async () => {
        prom = new FakePrometheus();
        url = await prom.start();
        clock = new FakeClock();
        lines = [];
    });
    afterEach(() => prom.stop());

    function run(
        stack: FakeStack,
        opts: Parameters<typeof runRelease>[0] = { image: V2, version: "v2" },
    ): Promise<ReleaseResult> {
        return runRelease(opts, {
            stack,
            metrics: new PrometheusClient({ url, timeoutMs: 2000 }),
            clock,
            log: (l) => lines.push(l),
        });
    }

    const analyses = (r: ReleaseResult) => r.events.filter((e) => e.kind === "analysis");

    it("steps a healthy canary through every weight and completes: stable takes the new version", async () => {
        prom.answer = health(99.9, 120);
        const stack = new FakeStack(stackConfig());
        const result = await run(stack);
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(exitCode(result.outcome), 0);
        // Start at 0, the steps, then completion in three updates: stable rolls (weight still 100), the route
        // moves to stable (targeted), the completion is recorded.
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 50, 100, 100, 0, 0]);
        assert.strictEqual(stack.ups[5].config.stableVersion, "v2");
        assert.strictEqual(stack.ups[5].config.canaryWeight, "100", "stable rolls while the canary serves");
        assert.deepStrictEqual(stack.ups[6].targets, [VS_URN], "then only the route moves");
        assert.strictEqual(stack.ups[7].targets, undefined);
        assert.deepStrictEqual(
            analyses(result).map((e) => [e.weight, e.verdict]),
            [
                [10, "pass"],
                [25, "pass"],
                [50, "pass"],
                [100, "pass"],
            ],
        );
        assert.strictEqual(stack.config.stableImage, V2);
        assert.strictEqual(stack.config.stableVersion, "v2");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.canaryImage, undefined);
        assert.strictEqual(stack.config.releaseStatus, "completed");
        assert.strictEqual(stack.config.releaseVersion, "v2");
        // The first up deploys the canary at weight 0, the last makes it stable: each state is an up.
        assert.deepStrictEqual(stack.ups[0].config.canaryImage, V2);
        assert.strictEqual(stack.ups[0].config.releaseStatus, "in-progress");
        // Checks target the canary workload with the queries.
        assert.ok(
            prom.queries.includes(
                '(sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary",response_code!~"5.*"}[1m])) or on() vector(0)) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary"}[1m])) * 100',
            ),
        );
        assert.ok(
            prom.queries.includes(
                'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary"}[1m])) by (le))',
            ),
        );
        // A line per step with time, weight and each check's value and verdict.
        assert.ok(
            lines.some((l) =>
                /^2026-11-30T10:0\d:00\.000Z {2}steps {2}weight {2}10 {2}success-rate=99\.90% \(min 99\) pass {2}latency-p99=120ms \(max 500\) pass {2}-> pass$/.test(
                    l,
                ),
            ),
            lines.join("\n"),
        );
    });

    it("rolls back at the failure threshold: weight 0 at once by a targeted update, canary back to stable", async () => {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "2" }));
        prom.answer = (q) => health(Number(stack.config.canaryWeight) >= 25 ? 80 : 99.9, 100)(q);
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(exitCode(result.outcome), 1);
        assert.deepStrictEqual(
            analyses(result).map((e) => [e.weight, e.verdict]),
            [
                [10, "pass"],
                [25, "fail"],
                [25, "fail"],
            ],
        );
        // Shifts 0, 10, 25; then the routing-only update (targeted), then the canary cleanup.
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 0, 0]);
        assert.deepStrictEqual(stack.ups[3].targets, [VS_URN]);
        assert.strictEqual(stack.ups[4].targets, undefined);
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        assert.strictEqual(stack.config.canaryImage, undefined);
        assert.strictEqual(stack.config.stableImage, "registry.example.test/shop:1.0.0");
        assert.match(
            result.reason,
            /^2 failed analyses \(threshold 2\) at steps 25: success-rate=80% \(min 99\) fail: below the minimum 99$/,
        );
        assert.match(stack.config.releaseMessage, /^2 failed analyses/);
    });

    it("rolls back on latency above the maximum", async () => {
        prom.answer = health(100, 900);
        const stack = new FakeStack(stackConfig());
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /latency-p99=900ms \(max 500\) fail: above the maximum 500/);
    });

    describe("no data", () => {
        const noData = () => ({ empty: true as const });

        it("fail (default): an empty result is a failed check", async () => {
            prom.answer = noData;
            const stack = new FakeStack(stackConfig());
            const result = await run(stack);
            assert.strictEqual(result.outcome, "rolled-back");
            assert.deepStrictEqual(
                analyses(result).map((e) => e.verdict),
                ["fail"],
            );
            assert.strictEqual(analyses(result)[0].checks![0].verdict, "no-data");
        });

        it("fail: NaN (no requests) is no data too", async () => {
            prom.answer = () => ({ value: "NaN" });
            const result = await run(new FakeStack(stackConfig()));
            assert.strictEqual(result.outcome, "rolled-back");
            assert.strictEqual(analyses(result)[0].checks![0].reason, "NaN (no requests in the window?)");
        });

        it("hold: waits up to the hold limit, then fails", async () => {
            prom.answer = noData;
            const stack = new FakeStack(stackConfig({ releaseNoData: "hold", releaseHoldLimit: "3" }));
            const result = await run(stack);
            assert.deepStrictEqual(
                analyses(result).map((e) => e.verdict),
                ["hold", "hold", "hold", "fail"],
            );
            assert.strictEqual(result.outcome, "rolled-back");
        });

        it("hold: goes on once data arrives", async () => {
            let n = 0;
            prom.answer = (q) => (n++ < 2 ? { empty: true } : health(100, 10)(q));
            const stack = new FakeStack(stackConfig({ releaseNoData: "hold", releaseHoldLimit: "5" }));
            const result = await run(stack);
            assert.strictEqual(result.outcome, "completed");
            assert.deepStrictEqual(
                analyses(result)
                    .map((e) => e.verdict)
                    .slice(0, 2),
                ["hold", "pass"],
            );
        });

        it("pass: no data passes (explicitly chosen)", async () => {
            prom.answer = noData;
            const result = await run(new FakeStack(stackConfig({ releaseNoData: "pass" })));
            assert.strictEqual(result.outcome, "completed");
        });

        it("a minimum request count turns too little traffic into no data", async () => {
            prom.answer = (q) => (q.startsWith("sum(increase") ? { value: 3 } : { value: 100 });
            const result = await run(new FakeStack(stackConfig({ releaseMinRequests: "50" })));
            assert.strictEqual(result.outcome, "rolled-back");
            assert.deepStrictEqual(analyses(result)[0].checks, [
                {
                    name: "request-count",
                    min: 50,
                    max: undefined,
                    unit: undefined,
                    value: 3,
                    verdict: "no-data",
                    reason: "3 requests, fewer than the minimum 50",
                },
            ]);
        });
    });

    it("query errors never promote: counted apart and rolled back at the consecutive error limit", async () => {
        prom.answer = () => ({ httpError: 400, message: "parse error at char 5" });
        const stack = new FakeStack(stackConfig({ releaseErrorLimit: "3" }));
        const result = await run(stack);
        assert.deepStrictEqual(
            analyses(result).map((e) => e.verdict),
            ["error", "error", "error"],
        );
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /^3 consecutive analyses could not query the metrics \(limit 3\)$/);
        assert.strictEqual(
            analyses(result)[0].checks![0].reason,
            "Prometheus answered HTTP 400: parse error at char 5",
        );
        assert.ok(!stack.weights().includes(25), "never shifted past the erroring step");
    });

    it("an error between passes does not count as a failure and the step is analysed again", async () => {
        let n = 0;
        prom.answer = (q) => (n++ === 2 ? { httpError: 503, message: "overloaded" } : health(100, 10)(q));
        const result = await run(new FakeStack(stackConfig()));
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(
            analyses(result)
                .map((e) => `${e.weight}:${e.verdict}`)
                .slice(0, 3),
            ["10:pass", "25:error", "25:pass"],
        );
    });

    it("refuses to start when Prometheus is down, changing nothing", async () => {
        prom.down = true;
        const stack = new FakeStack(stackConfig());
        const before = { ...stack.config };
        await assert.rejects(run(stack), (e: Error) => {
            assert.ok(e instanceof PreflightError);
            assert.match(
                e.message,
                /^Prometheus is not reachable, so the canary cannot be judged: Prometheus at http:\/\/127\.0\.0\.1:\d+ is not usable: Prometheus unreachable at/,
            );
            return true;
        });
        assert.deepStrictEqual(stack.ups, []);
        assert.deepStrictEqual(stack.config, before);
    });

    it("rolls back when Prometheus goes down mid-release", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig({ releaseErrorLimit: "2" }));
        clock.onSleep = () => {
            if (stack.config.canaryWeight === "50") {
                prom.down = true;
            }
        };
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(
            analyses(result).map((e) => `${e.weight}:${e.verdict}`),
            ["10:pass", "25:pass", "50:error", "50:error"],
        );
        assert.strictEqual(stack.config.canaryWeight, "0");
    });

    it("an up failing mid-step triggers rollback", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c, targets) =>
            c.canaryWeight === "50" && targets === undefined
                ? new Error("error: deployment shop-canary failed to become ready")
                : undefined;
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(
            result.reason,
            "pulumi up failed at steps 50: error: deployment shop-canary failed to become ready",
        );
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.deepStrictEqual(stack.ups.at(-2)?.targets, [VS_URN]);
    });

    it("says loudly, with the exact commands, when the rollback itself fails", async () => {
        prom.answer = health(50, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.releaseStatus === "rolled-back" ? new Error("connection refused") : undefined);
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.strictEqual(exitCode(result.outcome), 3);
        assert.deepStrictEqual(result.manualSteps, [
            "pulumi config set canaryWeight 0 --stack dev",
            "pulumi config rm releasePhase --stack dev",
            `pulumi up --stack dev --yes --target '${VS_URN}'`,
            "pulumi up --stack dev --yes",
        ]);
        assert.ok(lines.some((l) => l.startsWith("!!! ROLLBACK FAILED")));
    });

    it("resumes after a kill from the weight in stack config, analysing that step again", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        // Kill the bot during its first wait at weight 25 (after the shift, before the analysis).
        clock.onSleep = () => {
            if (stack.config.canaryWeight === "25") {
                throw new Error("killed");
            }
        };
        await assert.rejects(run(stack), /killed/);
        assert.strictEqual(stack.config.releaseStatus, "in-progress");
        assert.strictEqual(stack.config.canaryWeight, "25");
        const upsBefore = stack.ups.length;

        clock.onSleep = undefined;
        const result = await run(stack, { resume: true });
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
        await assert.rejects(run(idle, { resume: true }), {
            message: 'nothing to resume on stack dev: releaseStatus is "idle", not "in-progress"',
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
        await assert.rejects(run(busy, { image: "registry.example.test/shop:3.0.0" }), {
            name: "PreflightError",
            message:
                "a release is already in progress on stack dev: v2 at canaryWeight 25. Resume it with --resume (only if no other bot is running it).",
        });
        assert.deepStrictEqual(busy.config, before);
        assert.deepStrictEqual(busy.ups, []);
    });

    it("a locked stack (concurrent update) pauses and leaves the config as it was", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        const before = { ...stack.config };
        stack.failUp = () => locked();
        const result = await run(stack);
        assert.strictEqual(result.outcome, "paused");
        assert.strictEqual(exitCode(result.outcome), 4);
        assert.match(result.reason, /^stack locked by another update: the stack is currently locked by 1 lock\(s\)$/);
        assert.deepStrictEqual(stack.config, before);
    });

    it("runs the mirror and header phases before the first shift", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(
            stackConfig({ releaseMirrorPercent: "50", releaseHeaderPhase: "true", canaryHeader: "x-canary" }),
        );
        const result = await run(stack);
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
        const stack = new FakeStack(stackConfig());
        const before = clock.now().getTime();
        const result = await run(stack, { image: V2, dryRun: true });
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(clock.now().getTime(), before, "no waiting");
        assert.deepStrictEqual(
            analyses(result).map((e) => [e.weight, e.message]),
            [10, 25, 50, 100].map((w) => [w, "would analyse: success-rate, latency-p99"]),
        );
        assert.deepStrictEqual(prom.queries, ["vector(1)"], "no metrics queried");
    });

    it("checks the whole program config before changing anything", async () => {
        const stack = new FakeStack(stackConfig({ canaryWieght: "50" }));
        await assert.rejects(run(stack), {
            name: "PreflightError",
            message:
                "the stack config of dev is invalid:\nistio-canary:canaryWieght is not a config key of this program; did you mean canaryWeight? (see the config reference in README.md)",
        });
        assert.deepStrictEqual(stack.ups, []);
    });

    it("refuses to release with every health check off (a request count alone is not a health check)", async () => {
        const stack = new FakeStack(stackConfig({ releaseMinRequests: "10" }));
        await assert.rejects(
            run(stack, { image: V2, policy: { minSuccessRate: undefined, maxLatencyMs: undefined } }),
            {
                message:
                    "no health checks: keep releaseMinSuccessRate or releaseMaxLatencyMs above 0, or add releaseChecks (a minimum request count alone says nothing about health)",
            },
        );
    });

    it("a policy override of undefined turns a check off (--min-success-rate 0)", async () => {
        prom.answer = health(10, 10); // a terrible success rate that must not be looked at
        const stack = new FakeStack(stackConfig());
        const result = await run(stack, { image: V2, policy: { minSuccessRate: undefined } });
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
        prom.answer = (q) => (n < seq.length * 2 ? (seq[Math.floor(n++ / 2)] as never) : health(100, 10)(q));
        const stack = new FakeStack(
            stackConfig({ releaseErrorLimit: "2", releaseNoData: "hold", releaseHoldLimit: "5" }),
        );
        const result = await run(stack);
        assert.strictEqual(result.outcome, "completed", result.reason);
        assert.deepStrictEqual(
            analyses(result)
                .slice(0, 5)
                .map((e) => e.verdict),
            ["error", "hold", "error", "hold", "pass"],
        );
    });

    it("a failed completion rolls back to the stable version the release started from", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) =>
            c.releasePhase === "complete" && c.stableVersion === "v2" ? new Error("error: timed out") : undefined;
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /^pulumi up failed while completing: error: timed out$/);
        assert.strictEqual(stack.config.stableImage, "registry.example.test/shop:1.0.0");
        assert.strictEqual(stack.config.stableVersion, "v1");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
    });

    it("resumes a release paused by a lock before its first shift, from the first step", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.canaryWeight === "10" ? locked() : undefined);
        const first = await run(stack);
        assert.strictEqual(first.outcome, "paused");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "in-progress");
        stack.failUp = undefined;
        const resumed = await run(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "completed");
        assert.deepStrictEqual(
            analyses(resumed).map((e) => e.weight),
            [10, 25, 50, 100],
        );
    });

    it("resumes a mirror phase by turning mirroring on again and analysing it", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig({ releaseMirrorPercent: "30" }));
        clock.onSleep = () => {
            if (stack.config.releasePhase === "mirror") {
                throw new Error("killed");
            }
        };
        await assert.rejects(run(stack), /killed/);
        clock.onSleep = undefined;
        const upsBefore = stack.ups.length;
        const resumed = await run(stack, { resume: true });
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
        prom.answer = health(50, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.releaseStatus === "rolled-back" ? locked() : undefined);
        const result = await run(stack);
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        assert.strictEqual(
            result.manualSteps![0],
            "wait for the update holding the lock, or release it: pulumi cancel --stack dev --yes",
        );
    });

    it("rejects a bad image or version before changing anything", async () => {
        const stack = new FakeStack(stackConfig());
        await assert.rejects(run(stack, { image: "Registry/App:2" }), {
            message:
                '--image must be a container image reference such as "ghcr.io/org/app:1.2.3"; got "Registry/App:2"',
        });
        await assert.rejects(run(stack, { image: V2, version: "v2/beta" }), {
            message:
                '--version must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "v2/beta"',
        });
        assert.deepStrictEqual(stack.ups, []);
    });

    it("queries Prometheus with the secret credentials from stack config, and keeps them out of the result", async () => {
        prom.answer = health(100, 10);
        prom.requireAuthorization = "Bearer s3cr3t-token";
        const stack = new FakeStack(stackConfig({ prometheusUrl: url, prometheusToken: "s3cr3t-token" }), [
            "prometheusToken",
        ]);
        const result = await runRelease({ image: V2 }, { stack, clock, log: (l) => lines.push(l) });
        assert.strictEqual(result.outcome, "completed");
        assert.ok(!JSON.stringify(result).includes("s3cr3t-token"), "not in the result (the report)");
        assert.ok(!lines.join("\n").includes("s3cr3t-token"), "not in the log");

        prom.requireAuthorization = `Basic ${Buffer.from("bot:pa55").toString("base64")}`;
        const basic = new FakeStack(
            stackConfig({ prometheusUrl: url, prometheusUser: "bot", prometheusPassword: "pa55" }),
            ["prometheusPassword"],
        );
        assert.strictEqual(
            (await runRelease({ image: V2 }, { stack: basic, clock, log: () => undefined })).outcome,
            "completed",
        );

        const wrong = new FakeStack(stackConfig({ prometheusUrl: url, prometheusToken: "nope" }), ["prometheusToken"]);
        await assert.rejects(
            runRelease({ image: V2 }, { stack: wrong, clock, log: () => undefined }),
            /Prometheus answered HTTP 401: unauthorized/,
        );
    });

    it("refuses a Prometheus token stored in plaintext", async () => {
        const stack = new FakeStack(stackConfig({ prometheusUrl: url, prometheusToken: "s3cr3t-token" }));
        await assert.rejects(run(stack), (e: Error) => {
            assert.match(e.message, /prometheusToken must be set as a secret/);
            assert.ok(!e.message.includes("s3cr3t-token"));
            return true;
        });
    });

    it("a release of the version already running is a no-op", async () => {
        const stack = new FakeStack(stackConfig({ stableImage: V2, stableVersion: "v2" }));
        const result = await run(stack);
        assert.strictEqual(result.outcome, "no-op");
        assert.deepStrictEqual(stack.ups, []);
    });

    it("flag overrides win over the stack's policy", async () => {
        prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        await run(stack, { image: V2, policy: { steps: [50, 100] } });
        assert.deepStrictEqual(stack.weights(), [0, 50, 100, 100, 0, 0]);
    });
});

describe("release helpers", () => {
    it("imageTag takes the tag, not a registry port", () => {
        assert.strictEqual(imageTag("registry.example.test:5000/shop:2.0.0"), "2.0.0");
        assert.strictEqual(imageTag("registry.example.test:5000/shop"), undefined);
        assert.strictEqual(imageTag("shop:v2@sha256:" + "a".repeat(64)), "v2");
    });

    it("planStages: mirror, header, then the steps", () => {
        const { policy } = parseReleaseConfig({
            releaseSteps: "20,100",
            releaseMirrorPercent: "10",
            releaseHeaderPhase: "true",
        });
        assert.deepStrictEqual(
            planStages(policy).map((s) => `${s.phase}:${s.weight}`),
            ["mirror:0", "header:0", "steps:20", "steps:100"],
        );
    });

    it("rejects a policy with steps that do not end at 100", () => {
        assert.throws(() => parseReleaseConfig({ releaseSteps: "10,50" }), {
            message:
                'releaseSteps must be a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "10,50"',
        });
    });
});

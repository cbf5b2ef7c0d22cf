import * as assert from "assert";
import { exitCode, PreflightError } from "../../../stacks/release/result";
import { FakeStack, health, VS_URN } from "../fakes";
import { analyses, releaseBench, stackConfig, V2 } from "./bench";

describe("release bot: steps, analyses and rollbacks (fake stack and clock, Prometheus API on 127.0.0.1)", function () {
    this.timeout(20000);
    const b = releaseBench();
    it("steps a healthy canary through every weight and completes: stable takes the new version", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new FakeStack(stackConfig());
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(exitCode(result), 0);
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
            b.prom.queries.includes(
                '(sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary",destination_version="v2",response_code!~"5.*"}[1m])) or on() vector(0)) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary",destination_version="v2"}[1m])) * 100',
            ),
        );
        assert.ok(
            b.prom.queries.includes(
                'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="prod",destination_workload=~"shop-canary",destination_version="v2"}[1m])) by (le))',
            ),
        );
        // A line per step with time, weight and each check's value and verdict.
        assert.ok(
            b.lines.some((l) =>
                /^2026-11-30T10:0\d:0\d\.\d{3}Z {2}steps {2}weight {2}10 {2}success-rate=99\.90% \(min 99\) pass {2}latency-p99=120ms \(max 500\) pass {2}-> pass$/.test(
                    l,
                ),
            ),
            b.lines.join("\n"),
        );
    });

    it("rolls back at the failure threshold: weight 0 at once by a targeted update, canary back to stable", async () => {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "2" }));
        b.prom.answer = (q) => health(Number(stack.config.canaryWeight) >= 25 ? 80 : 99.9, 100)(q);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(exitCode(result), 1);
        assert.deepStrictEqual(
            analyses(result).map((e) => [e.weight, e.verdict]),
            [
                [10, "pass"],
                [25, "fail"],
                [25, "fail"],
            ],
        );
        // Shifts 0, 10, 25; the first failure counted (an update that moves nothing, so a kill keeps the count);
        // then the routing-only update (targeted, with the count at the threshold), then the canary cleanup.
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 25, 0, 0]);
        assert.strictEqual(stack.ups[3].message, "release v2: failed analysis 1 of 2 at steps 25");
        assert.strictEqual(stack.ups[3].config.releaseFailedAnalyses, "1");
        assert.deepStrictEqual(stack.ups[4].targets, [VS_URN]);
        assert.strictEqual(stack.ups[4].config.releaseFailedAnalyses, "2");
        assert.strictEqual(stack.ups[5].targets, undefined);
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
        b.prom.answer = health(100, 900);
        const stack = new FakeStack(stackConfig());
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /latency-p99=900ms \(max 500\) fail: above the maximum 500/);
    });

    it("judges custom PromQL checks from releaseChecks too, and names the failing one", async () => {
        const errors = "sum(rate(app_errors_total[1m]))";
        b.prom.answer = (q) => (q === errors ? { value: 7 } : health(100, 10)(q));
        const stack = new FakeStack(
            stackConfig({ releaseChecks: JSON.stringify([{ name: "app-errors", query: errors, max: 1 }]) }),
        );
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.match(result.reason, /app-errors=7 \(max 1\) fail: above the maximum 1/);
        assert.ok(b.prom.queries.includes(errors), "the custom query was asked");
    });

    describe("no data", () => {
        const noData = () => ({ empty: true as const });

        it("fail (default): an empty result is a failed check", async () => {
            b.prom.answer = noData;
            const stack = new FakeStack(stackConfig());
            const result = await b.run(stack);
            assert.strictEqual(result.outcome, "rolled-back");
            assert.deepStrictEqual(
                analyses(result).map((e) => e.verdict),
                ["fail"],
            );
            assert.strictEqual(analyses(result)[0].checks![0].verdict, "no-data");
        });

        it("fail: NaN (no requests) is no data too", async () => {
            b.prom.answer = () => ({ value: "NaN" });
            const result = await b.run(new FakeStack(stackConfig()));
            assert.strictEqual(result.outcome, "rolled-back");
            assert.strictEqual(analyses(result)[0].checks![0].reason, "NaN (no requests in the window?)");
        });

        it("hold: waits up to the hold limit, then fails", async () => {
            b.prom.answer = noData;
            const stack = new FakeStack(stackConfig({ releaseNoData: "hold", releaseHoldLimit: "3" }));
            const result = await b.run(stack);
            assert.deepStrictEqual(
                analyses(result).map((e) => e.verdict),
                ["hold", "hold", "hold", "fail"],
            );
            assert.strictEqual(result.outcome, "rolled-back");
        });

        it("hold: goes on once data arrives", async () => {
            let n = 0;
            const stack = new FakeStack(stackConfig({ releaseNoData: "hold", releaseHoldLimit: "5" }));
            // No data for the first analysis after the shift (preflight's queries, at weight 0, are not counted).
            b.prom.answer = (q) =>
                stack.config.canaryWeight !== "0" && n++ < 2 ? { empty: true } : health(100, 10)(q);
            const result = await b.run(stack);
            assert.strictEqual(result.outcome, "completed");
            assert.deepStrictEqual(
                analyses(result)
                    .map((e) => e.verdict)
                    .slice(0, 2),
                ["hold", "pass"],
            );
        });

        it("pass: no data passes (explicitly chosen)", async () => {
            b.prom.answer = noData;
            const result = await b.run(new FakeStack(stackConfig({ releaseNoData: "pass" })));
            assert.strictEqual(result.outcome, "completed");
        });

        it("a minimum request count turns too little traffic into no data", async () => {
            b.prom.answer = (q) => (q.startsWith("sum(increase") ? { value: 3 } : { value: 100 });
            const result = await b.run(new FakeStack(stackConfig({ releaseMinRequests: "50" })));
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
        const stack = new FakeStack(stackConfig({ releaseErrorLimit: "3" }));
        // Answers before the shift (preflight runs every query once), errors from then on.
        b.prom.answer = (q) =>
            stack.config.canaryWeight === "0"
                ? health(100, 10)(q)
                : { httpError: 400, message: "parse error at char 5" };
        const result = await b.run(stack);
        assert.deepStrictEqual(
            analyses(result).map((e) => e.verdict),
            ["error", "error", "error"],
        );
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(
            result.reason,
            "3 consecutive analyses could not query the metrics (limit 3) at steps 10: success-rate=- (min 99) error: " +
                "Prometheus answered HTTP 400: parse error at char 5; latency-p99=- (max 500) error: Prometheus " +
                "answered HTTP 400: parse error at char 5",
        );
        assert.strictEqual(result.cause, "metrics");
        assert.strictEqual(exitCode(result), 6, "metrics unusable");
        assert.strictEqual(
            analyses(result)[0].checks![0].reason,
            "Prometheus answered HTTP 400: parse error at char 5",
        );
        assert.ok(!stack.weights().includes(25), "never shifted past the erroring step");
    });

    it("an error between passes does not count as a failure and the step is analysed again", async () => {
        let n = 0;
        const stack = new FakeStack(stackConfig());
        b.prom.answer = (q) =>
            stack.config.canaryWeight !== "0" && n++ === 2
                ? { httpError: 503, message: "overloaded" }
                : health(100, 10)(q);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(
            analyses(result)
                .map((e) => `${e.weight}:${e.verdict}`)
                .slice(0, 3),
            ["10:pass", "25:error", "25:pass"],
        );
    });

    it("refuses to start when Prometheus is down, changing nothing", async () => {
        b.prom.down = true;
        const stack = new FakeStack(stackConfig());
        const before = { ...stack.config };
        await assert.rejects(b.run(stack), (e: Error) => {
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
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig({ releaseErrorLimit: "2" }));
        b.clock.onSleep = () => {
            if (stack.config.canaryWeight === "50") {
                b.prom.down = true;
            }
        };
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(
            analyses(result).map((e) => `${e.weight}:${e.verdict}`),
            ["10:pass", "25:pass", "50:error", "50:error"],
        );
        assert.strictEqual(stack.config.canaryWeight, "0");
    });

    it("an up failing mid-step triggers rollback", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c, targets) =>
            c.canaryWeight === "50" && targets === undefined
                ? new Error("error: deployment shop-canary failed to become ready")
                : undefined;
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(
            result.reason,
            "pulumi up failed at steps 50: error: deployment shop-canary failed to become ready",
        );
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.deepStrictEqual(stack.ups.at(-2)?.targets, [VS_URN]);
    });

    it("says loudly, with the exact commands, when the rollback itself fails", async () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.releaseStatus === "rolling-back" ? new Error("connection refused") : undefined);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.strictEqual(exitCode(result), 3);
        assert.deepStrictEqual(result.manualSteps, [
            "pulumi config set canaryWeight 0 --stack dev",
            "pulumi config set releaseStatus rolling-back --stack dev",
            "pulumi config rm releasePhase --stack dev",
            `pulumi up --stack dev --yes --target '${VS_URN}'`,
            "npm run release -- --stack dev --resume   # finishes the rollback (or: pulumi up --stack dev --yes)",
        ]);
        assert.ok(b.lines.some((l) => l.startsWith("!!! ROLLBACK FAILED")));
    });
});

import * as assert from "assert";
import { systemClock } from "../../../stacks/release/clock";
import { describeLoad, startLoad } from "../../../stacks/release/load";
import { renderMarkdown } from "../../../stacks/release/report";
import { FakeStack } from "../fakes";
import { HookServer } from "./hook-server";
import { analyses, memoryBench, stackConfig } from "./bench";

describe("load while judging (a target on 127.0.0.1)", function () {
    this.timeout(30000);
    let server: HookServer;
    let url: string;
    beforeEach(async () => {
        server = new HookServer();
        url = await server.start();
    });
    afterEach(() => server.stop());

    it("sends at most maxRequests, with its headers, and counts statuses", async () => {
        server.answer = (n) => (n % 5 === 4 ? { status: 503 } : { status: 200 });
        const load = startLoad(
            { url: `${url}/`, rate: 200, maxRequests: 10, timeoutMs: 2000, headers: { "x-canary": "always" } },
            systemClock,
        );
        await new Promise((r) => setTimeout(r, 400));
        const s = await load.stop();
        assert.strictEqual(s.sent, 10);
        assert.strictEqual(server.received.length, 10);
        assert.strictEqual(s.ok, 8);
        assert.strictEqual(s.failed, 2);
        assert.deepStrictEqual(s.statuses, { 200: 8, 503: 2 });
        assert.ok(server.received.every((r) => r.headers["x-canary"] === "always"));
        assert.ok(s.p50Ms !== undefined && s.p99Ms !== undefined && s.p50Ms <= s.p99Ms);
        assert.match(describeLoad(s), /^load: 10 requests, 8 ok \(80\.0%\), p50 [\d.]+ ms, p99 [\d.]+ ms$/);
    });

    it("is paced at its rate and stops when told", async () => {
        const load = startLoad(
            { url: `${url}/`, rate: 20, maxRequests: 1000, timeoutMs: 2000, headers: {} },
            systemClock,
        );
        await new Promise((r) => setTimeout(r, 500));
        const s = await load.stop();
        // 20/s for 0.5 s: about 10 (the first at once); never hundreds.
        assert.ok(s.sent >= 3 && s.sent <= 13, `sent ${s.sent}`);
        const after = server.received.length;
        await new Promise((r) => setTimeout(r, 200));
        assert.strictEqual(server.received.length, after, "nothing sent after stop");
    });

    it("times out slow requests and counts failures without a status", async () => {
        server.answer = () => ({ status: 200, delayMs: 1000 });
        const load = startLoad({ url: `${url}/`, rate: 100, maxRequests: 2, timeoutMs: 100, headers: {} }, systemClock);
        await new Promise((r) => setTimeout(r, 50));
        const s = await load.stop();
        assert.deepStrictEqual(
            { sent: s.sent, ok: s.ok, statuses: s.statuses },
            { sent: 2, ok: 0, statuses: { timeout: 2 } },
        );
        await server.stop();
        const refused = startLoad(
            { url: `${url}/`, rate: 100, maxRequests: 1, timeoutMs: 500, headers: {} },
            systemClock,
        );
        const r = await refused.stop();
        assert.deepStrictEqual([r.sent, r.ok, r.failed], [1, 0, 1]);
        assert.match(Object.keys(r.statuses).join(), /^(ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)$/);
    });

    describe("in a release", () => {
        const b = memoryBench();
        /** Metrics with data only when requests reached the target since the last analysis (no other traffic). */
        const metricsFromLoad = () => {
            let seen = 0;
            let fresh = false;
            b.metrics.answer = (q) => {
                const latency = q.startsWith("histogram_quantile");
                if (!latency) {
                    // The success-rate query comes first in each analysis: it decides for the analysis.
                    fresh = server.received.length > seen;
                    seen = server.received.length;
                }
                return fresh ? { kind: "value", value: latency ? 10 : 100 } : { kind: "no-data", reason: "empty" };
            };
        };

        it("with no other traffic and releaseNoData fail, completes only when the load is on", async () => {
            metricsFromLoad();
            const quiet = new FakeStack(stackConfig({ releaseNoData: "fail", releaseFailureThreshold: "1" }));
            const without = await b.bot(quiet);
            assert.strictEqual(without.outcome, "rolled-back");
            assert.strictEqual(server.received.length, 0);

            const stack = new FakeStack(
                stackConfig({
                    releaseNoData: "fail",
                    releaseFailureThreshold: "1",
                    releaseLoadUrl: `${url}/shop`,
                    canaryHeader: "x-canary",
                    canaryHeaderValue: "always",
                }),
            );
            const r = await b.bot(stack);
            assert.strictEqual(r.outcome, "completed", r.reason);
            const a = analyses(r);
            assert.strictEqual(a.length, 4);
            for (const e of a) {
                assert.ok(
                    e.load !== undefined && e.load.sent >= 1 && e.load.ok === e.load.sent,
                    JSON.stringify(e.load),
                );
                assert.match(e.message, /\(load: \d+ requests, \d+ ok \(100\.0%\)/);
            }
            assert.ok(
                server.to("/shop").every((x) => x.headers["x-canary"] === "always"),
                "through the header route",
            );
            assert.match(renderMarkdown(r, "chart.svg"), /<br>load: \d+ requests, \d+ ok \(100\.0%\)/);
        });

        it("releaseLoadCanaryHeader false sends the URL as is", async () => {
            const stack = new FakeStack(
                stackConfig({
                    releaseLoadUrl: `${url}/gw`,
                    releaseLoadMaxRequests: "3",
                    releaseLoadCanaryHeader: "false",
                    canaryHeader: "x-canary",
                }),
            );
            const r = await b.bot(stack);
            assert.strictEqual(r.outcome, "completed");
            assert.ok(server.received.length >= 4 && server.received.length <= 12, `${server.received.length}`);
            assert.ok(
                analyses(r).every((e) => (e.load?.sent ?? 0) <= 3),
                "bounded per window",
            );
            assert.ok(server.received.every((x) => x.headers["x-canary"] === undefined));
        });
    });
});

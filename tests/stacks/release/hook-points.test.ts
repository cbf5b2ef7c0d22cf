import * as assert from "assert";
import { HookSpec } from "../../../config/policy";
import { renderMarkdown } from "../../../stacks/release/report";
import { exitCode, EXIT_CODES } from "../../../stacks/release/result";
import { FakeStack } from "../fakes";
import { HookServer } from "./hook-server";
import { memoryBench, stackConfig } from "./bench";

const SECRET = "hook-secret-value-42";

describe("release bot: webhooks at Flagger's hook points (hook server on 127.0.0.1)", function () {
    this.timeout(30000);
    const b = memoryBench();
    let server: HookServer;
    let url: string;
    beforeEach(async () => {
        server = new HookServer();
        server.secret = SECRET;
        url = await server.start();
    });
    afterEach(() => server.stop());

    /** A stack whose policy has these hooks (at paths named after them) and the hook secret, set as a secret. */
    const stackWith = (hooks: Partial<HookSpec>[], extra: Record<string, string> = {}) =>
        new FakeStack(
            stackConfig({
                releaseHooks: JSON.stringify(
                    hooks.map((h) => ({ url: `${url}/${h.name}`, retries: 1, timeout: "2s", ...h })),
                ),
                releaseHookSecret: SECRET,
                ...extra,
            }),
            ["releaseHookSecret"],
        );

    it("a failing pre-rollout hook rolls back before any user traffic reaches the canary", async () => {
        server.answer = () => ({ status: 500, body: "smoke test failed" });
        const stack = stackWith([{ name: "smoke", type: "pre-rollout" }], {
            canaryHeader: "x-canary",
            canaryHeaderValue: "always",
        });
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.cause, "hook");
        assert.strictEqual(exitCode(r), EXIT_CODES.unhealthy);
        assert.strictEqual(
            r.reason,
            `pre-rollout hook smoke (pre-rollout, ${url}): HTTP 500: smoke test failed after 2 attempts`,
        );
        assert.ok(
            stack.weights().every((w) => w === 0),
            `no weight above 0 ever deployed: ${stack.weights().join(",")}`,
        );
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        const [first] = server.to("/smoke");
        assert.strictEqual(first.signed, true);
        assert.strictEqual(first.payload.weight, 0);
        assert.deepStrictEqual(first.payload.canaryHeader, { name: "x-canary", value: "always" });
        assert.strictEqual(first.payload.version, "v2");
        assert.deepStrictEqual(first.payload.checks, []);
        assert.deepStrictEqual(
            r.hooks?.map((h) => [h.hook, h.type, h.attempts, h.status, h.ok]),
            [["smoke", "pre-rollout", 2, 500, false]],
        );
    });

    it("a passing pre-rollout hook lets the release go on; post-rollout is told of the completion", async () => {
        const stack = stackWith([
            { name: "smoke", type: "pre-rollout" },
            { name: "done", type: "post-rollout" },
        ]);
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(server.to("/smoke").length, 1);
        const [done] = server.to("/done");
        assert.deepStrictEqual(done.payload.outcome, { name: "completed", reason: r.reason });
        assert.strictEqual(done.signed, true);
    });

    it("confirm-promotion: held until it answers 2xx (after two tries), then completes", async () => {
        server.answer = (n, path) =>
            path === "/confirm" && n < 2 ? { status: 409, body: "not yet" } : { status: 200 };
        const stack = stackWith([{ name: "confirm", type: "confirm-promotion", retries: 0 }]);
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(server.to("/confirm").length, 3);
        assert.deepStrictEqual(
            r.hooks?.map((h) => [h.hook, h.attempts, h.status, h.ok]),
            [["confirm", 3, 200, true]],
        );
        // Asked at weight 100, before stable takes the new version.
        const confirmAt = server.to("/confirm")[0].payload;
        assert.strictEqual(confirmAt.weight, 100);
        assert.deepStrictEqual(
            confirmAt.checks.map((c) => [c.name, c.verdict]),
            [
                ["success-rate", "pass"],
                ["latency-p99", "pass"],
            ],
        );
    });

    it("confirm-promotion with no 2xx within its limit pauses with traffic on the canary (exit 9), not completed", async () => {
        server.answer = () => ({ status: 503 });
        const stack = stackWith([{ name: "confirm", type: "confirm-promotion" }], { releaseHookConfirmLimit: "1m" });
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "paused");
        assert.strictEqual(exitCode(r), EXIT_CODES["paused-after-traffic"]);
        assert.match(
            r.reason,
            /^confirm-promotion hook confirm \(confirm-promotion, http:\/\/127\.0\.0\.1:\d+\): HTTP 503 after \d+ attempts; no 2xx within releaseHookConfirmLimit 1m: not completed/,
        );
        assert.strictEqual(stack.config.stableVersion, "v1");
        assert.strictEqual(stack.config.releaseStatus, "in-progress");
    });

    it("a failing rollout hook is a failed check of each analysis, and rolls back at the threshold", async () => {
        server.answer = (_n, path) => (path === "/gate" ? { status: 500 } : { status: 200 });
        const stack = stackWith(
            [
                { name: "gate", type: "rollout", retries: 0 },
                { name: "bye", type: "rollback" },
            ],
            {
                releaseFailureThreshold: "2",
            },
        );
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.cause, "unhealthy");
        const a = r.events.filter((e) => e.kind === "analysis");
        assert.deepStrictEqual(
            a.map((e) => [e.weight, e.verdict]),
            [
                [10, "fail"],
                [10, "fail"],
            ],
        );
        assert.deepStrictEqual(
            a[0].checks?.find((c) => c.name === "hook:gate"),
            { name: "hook:gate", value: 500, verdict: "fail", reason: "HTTP 500" },
        );
        assert.deepStrictEqual(server.to("/bye")[0].payload.outcome?.name, "rolled-back");
    });

    it("event hooks hear every event; the secret never appears in logs, result or report", async () => {
        const stack = stackWith([{ name: "notify", type: "event", retries: 0 }]);
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "completed");
        // Sent concurrently: they may arrive out of order, and carry their sequence number to be ordered by.
        const received = server.to("/notify").sort((x, y) => (x.payload.sequence ?? 0) - (y.payload.sequence ?? 0));
        assert.deepStrictEqual(
            received.map((x) => x.payload.sequence),
            r.events.map((_e, i) => i + 1),
        );
        assert.deepStrictEqual(
            received.map((x) => x.payload.event?.kind),
            r.events.map((e) => e.kind),
        );
        assert.ok(server.to("/notify").every((x) => x.signed === true));
        const everything = [JSON.stringify(r), b.lines.join("\n"), renderMarkdown(r, "chart.svg")].join("\n");
        assert.ok(!everything.includes(SECRET), "the hook secret leaked");
        assert.deepStrictEqual(r.policy.hooks, [{ name: "notify", type: "event", target: url }]);
        assert.ok(!("hookSecret" in r.policy));
    });

    it("a hook secret in plaintext config is refused before anything changes", async () => {
        const stack = new FakeStack(
            stackConfig({
                releaseHooks: JSON.stringify([{ name: "n", type: "event", url: `${url}/n` }]),
                releaseHookSecret: SECRET,
            }),
        );
        const before = { ...stack.config };
        await assert.rejects(b.bot(stack), (e: Error) => {
            assert.match(e.message, /releaseHookSecret must be set as a secret so it is encrypted/);
            assert.ok(!e.message.includes(SECRET));
            return true;
        });
        assert.deepStrictEqual(stack.config, before);
        assert.strictEqual(stack.ups.length, 0);
        assert.strictEqual(server.received.length, 0);
    });
});

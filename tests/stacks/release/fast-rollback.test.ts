import * as assert from "assert";
import { FakeRouting, FakeStack, health, VS_URN } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

describe("release bot: fast rollback (releaseRollback, fake stack and routing)", function () {
    this.timeout(20000);
    const b = releaseBench();
    const failing = () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(stackConfig({ mirrorPercent: "5" }));
        return { stack, routing: new FakeRouting(stack) };
    };

    it("fast (default): patches the live routes before any update, records it with the targeted update, then lets go", async () => {
        const { stack, routing } = failing();
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rolled-back");
        // Shifts 0 and 10 (2 ups), then the patch, the routing update (targeted), the release, the canary cleanup.
        assert.deepStrictEqual(routing.calls, [
            "release prod/shop after 0 ups", // leftovers of an earlier bot, before anything moves
            "patch prod/shop mirror=5 after 2 ups",
            "release prod/shop after 3 ups",
        ]);
        assert.deepStrictEqual(stack.weights(), [0, 10, 0, 0]);
        assert.deepStrictEqual(stack.ups[2].targets, [VS_URN]);
        assert.strictEqual(
            stack.ups[2].config.releaseStatus,
            "rolling-back",
            "the routing update records the rollback",
        );
        assert.strictEqual(stack.ups[3].config.releaseStatus, "rolled-back");
        const rollback = result.events.filter((e) => e.kind === "rollback");
        assert.match(
            rollback[1].message,
            /^traffic back on stable \d+\.\d{3} s after the decision \(time to stable; direct patch of VirtualService prod\/shop\)$/,
        );
        assert.ok(rollback[1].durationMs !== undefined);
        assert.match(rollback[2].message, /^routing recorded in the stack \(targeted update of the VirtualService\)/);
    });

    it("falls back to the update when the patch fails, and says why", async () => {
        const { stack, routing } = failing();
        routing.fail = new Error("connect ECONNREFUSED 127.0.0.1:6443");
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(
            routing.calls,
            ["release prod/shop after 0 ups", "patch prod/shop mirror=5 after 2 ups"],
            "no release after the rollback: nothing patched",
        );
        assert.deepStrictEqual(stack.weights(), [0, 10, 0, 0]);
        assert.deepStrictEqual(stack.ups[2].targets, [VS_URN]);
        assert.ok(
            result.events.some(
                (e) =>
                    e.kind === "error" &&
                    e.message ===
                        "direct routing patch failed; rolling back by update instead: VirtualService prod/shop: connect ECONNREFUSED 127.0.0.1:6443",
            ),
        );
        assert.ok(
            result.events.some((e) => /^traffic back on stable .* \(time to stable; targeted update/.test(e.message)),
        );
    });

    it("update: never patches", async () => {
        const { stack, routing } = failing();
        stack.config.releaseRollback = "update";
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(routing.calls, ["release prod/shop after 0 ups"], "leftovers released; no patch");
        assert.deepStrictEqual(stack.weights(), [0, 10, 0, 0]);
    });

    it("a patched rollback the stack could not record says traffic is on stable, with the commands to record it", async () => {
        const { stack, routing } = failing();
        stack.failUp = (c) => (c.releaseStatus === "rolling-back" ? new Error("connection refused") : undefined);
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.deepStrictEqual(
            routing.calls,
            ["release prod/shop after 0 ups", "patch prod/shop mirror=5 after 2 ups"],
            "not released after the patch: Pulumi holds nothing yet",
        );
        assert.ok(b.lines.some((l) => l.startsWith("!!! ROLLBACK NOT RECORDED: traffic is on stable (direct patch)")));
        assert.ok(result.manualSteps?.some((step) => step.startsWith("pulumi up --stack dev --yes")));
    });

    it("a release first lets go of routes a killed bot's patch still claims, so no stage's apply conflicts with them", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        const routing = new FakeRouting(stack);
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(routing.calls, ["release prod/shop after 0 ups"]);
    });
});

/**
 * The failed-analysis count is part of the release state (`releaseFailedAnalyses`): a bot killed after a failed
 * analysis and resumed keeps counting, so the failure threshold is the threshold across kills, not per process.
 */
import * as assert from "assert";
import { exitCode } from "../../../stacks/release/result";
import { FakeStack, healthy } from "../fakes";
import { analyses, memoryBench, stackConfig } from "./bench";

describe("release bot: the failed-analysis count is kept in the release state (fake stack, clock and metrics)", function () {
    this.timeout(20000);
    const b = memoryBench();
    /** Healthy at 10, failing from 25 on. */
    const failingFrom25 = (stack: FakeStack) => (q: string) =>
        healthy(Number(stack.config.canaryWeight) >= 25 ? 80 : 100, 10)(q);
    /** Kills the bot at its next wait once `count` failed analyses are deployed (recorded by an update). */
    const killedAfter = (stack: FakeStack, count: string) => () => {
        if (stack.deployed?.releaseFailedAnalyses === count) {
            throw new Error("killed");
        }
    };

    it("threshold 2: a failure, a kill, a --resume and one more failure roll back (2 in all, not 3)", async () => {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "2" }));
        b.metrics.answer = failingFrom25(stack);
        b.clock.onSleep = killedAfter(stack, "1");
        await assert.rejects(b.bot(stack), /killed/);
        assert.strictEqual(stack.deployed?.releaseStatus, "in-progress");
        assert.strictEqual(stack.deployed?.releaseFailedAnalyses, "1", "the first failure is in the deployed state");
        b.clock.onSleep = undefined;

        const resumed = await b.bot(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "rolled-back", resumed.reason);
        assert.strictEqual(exitCode(resumed), 1);
        assert.deepStrictEqual(
            analyses(resumed).map((e) => [e.weight, e.verdict]),
            [[25, "fail"]],
            "the resumed bot rolls back at its first failure: the one before the kill counts",
        );
        assert.match(resumed.reason, /^2 failed analyses \(threshold 2\) at steps 25: /);
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        assert.strictEqual(stack.config.releaseFailedAnalyses, "2", "the rollback records the count it reached");
    });

    it("the count spans stages and kills; a new release starts from 0 again", async () => {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "3" }));
        b.metrics.answer = failingFrom25(stack);
        b.clock.onSleep = killedAfter(stack, "1");
        await assert.rejects(b.bot(stack), /killed/);
        b.clock.onSleep = killedAfter(stack, "2");
        await assert.rejects(b.bot(stack, { resume: true }), /killed/);
        b.clock.onSleep = undefined;
        const third = await b.bot(stack, { resume: true });
        assert.strictEqual(third.outcome, "rolled-back");
        assert.strictEqual(analyses(third).length, 1);
        assert.match(third.reason, /^3 failed analyses \(threshold 3\)/);
        // A new release counts its own failures: the old count is dropped at its start.
        b.metrics.answer = healthy(100, 10);
        const next = await b.bot(stack);
        assert.strictEqual(next.outcome, "completed", next.reason);
        assert.ok(
            stack.ups.filter((u) => u.message?.startsWith("release v2: start")).at(-1)!.config.releaseFailedAnalyses ===
                undefined,
            "the start of the new release dropped the count",
        );
    });

    it("a failure below the threshold is recorded by one update that moves no traffic, named in the history", async () => {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "2" }));
        let failed = false;
        b.metrics.answer = (q) => {
            // One failed analysis at 25, then healthy: the release completes with its failure on record.
            if (stack.config.canaryWeight === "25" && !failed) {
                failed = !q.startsWith("histogram_quantile") ? true : failed;
                return healthy(80, 10)(q);
            }
            return healthy(100, 10)(q);
        };
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "completed", r.reason);
        const counted = stack.ups.filter((u) => u.message === "release v2: failed analysis 1 of 2 at steps 25");
        assert.strictEqual(counted.length, 1);
        assert.strictEqual(counted[0].config.canaryWeight, "25");
        assert.strictEqual(counted[0].config.releaseFailedAnalyses, "1");
        assert.strictEqual(stack.config.releaseFailedAnalyses, "1", "the completed release keeps its count");
    });
});

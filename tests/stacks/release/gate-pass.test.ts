/**
 * One routine passes a gate (manual-gate.ts), whether this process approves it (--approve) or another process
 * recorded the decision for a waiting bot: the same update message, the same retries of a locked stack.
 */
import * as assert from "assert";
import { decideForWaitingBot } from "../../../stacks/release/decisions";
import { FakeStack, locked } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

describe("release bot: passing a gate (fake stack, clock and metrics)", function () {
    this.timeout(20000);
    const b = memoryBench();
    const approve = (by: string) => ({ resume: true, decision: { kind: "approve" as const, by } });

    it("--approve tries a locked stack again, 2 s later, and goes on once the lock is gone", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        let locks = 0;
        stack.failUp = (c) => (c.releaseApprovals !== undefined && ++locks <= 2 ? locked() : undefined);
        const t0 = b.clock.now().getTime();
        const r = await b.bot(stack, approve("bob"));
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.ok(locks > 2, "two locked tries, then the update");
        const passed = stack.ups.find((u) => u.message === "release v2: gate 50 approved by bob");
        assert.ok(passed, "the approval's update is named in the history");
        assert.ok(b.clock.now().getTime() - t0 >= 4000);
    });

    it("a waiting bot passes the gate another process approved with the same update, naming who approved", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        let decided: Promise<unknown> | undefined;
        b.clock.onSleep = () => {
            if (stack.deployed?.releaseStatus === "awaiting-approval" && decided === undefined) {
                decided = decideForWaitingBot(approve("dave"), { stack, clock: b.clock, log: () => undefined });
            }
        };
        const r = await b.bot(stack, { image: V2, version: "v2", waitForApprovalMs: 600_000 });
        await decided;
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.ok(stack.ups.some((u) => u.message === "release v2: gate 50 approved by dave"));
    });
});

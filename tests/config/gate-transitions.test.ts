import * as assert from "assert";
import { configChanges, ReleaseView } from "../../config/release-state";
import { decisionAtGate, TransitionError, transitions } from "../../config/release-transitions";
import { approval as decision, running } from "./release-views";

describe("release protocol: manual gates", () => {
    it("awaitApproval records the gate and status only: the traffic stays where it is", () => {
        const waiting = transitions.awaitApproval(running, "50");
        assert.deepStrictEqual(configChanges(running, waiting), {
            releaseStatus: "awaiting-approval",
            releaseGate: "50",
        });
        assert.throws(() => transitions.awaitApproval(waiting, "100"), TransitionError);
    });

    it("a decision is for the gate and version waiting; passing needs an approval there", () => {
        const waiting = transitions.awaitApproval(running, "50");
        assert.throws(() => transitions.recordDecision(waiting, decision({ version: "v3" })), {
            name: "DecisionMismatchError",
            message: "the release waiting for approval is v2, not v3",
        });
        assert.throws(() => transitions.recordDecision(waiting, decision({ gate: "100" })), {
            name: "DecisionMismatchError",
            message: "the release of v2 waits at gate 50, not 100",
        });
        assert.throws(() => transitions.passGate(waiting), { message: "gate 50 of v2 is not approved" });
        const aborted = transitions.recordDecision(waiting, decision({ decision: "abort" }));
        assert.throws(() => transitions.passGate(aborted), { message: "gate 50 of v2 is not approved" });
        const approved = transitions.recordDecision(aborted, decision({ by: "bob" }));
        assert.strictEqual(decisionAtGate(approved)?.by, "bob", "the latest decision wins");
        const passed = transitions.passGate(approved);
        assert.deepStrictEqual(configChanges(waiting, passed), {
            releaseStatus: "in-progress",
            releaseGate: undefined,
            releaseApprovals: JSON.stringify([decision({ decision: "abort" }), decision({ by: "bob" })]),
        });
    });

    it("a rollback from a gate clears it; a new release drops old decisions but keeps a promotion approval", () => {
        const waiting = transitions.awaitApproval(running, "50");
        const back = transitions.rollBack(waiting, "aborted by alice", "aborted");
        assert.strictEqual(back.state.status, "rolling-back");
        assert.strictEqual(back.state.gate, undefined);
        assert.strictEqual(back.canaryWeight, 0);
        const done = transitions.finishRollback(back);
        const withHistory: ReleaseView = {
            ...done,
            state: {
                ...done.state,
                approvals: [decision()],
                promotionApproval: { version: "v3", by: "carol", at: "2026-11-30T11:00:00.000Z" },
            },
        };
        const next = transitions.start(withHistory, { image: "r/app:3", version: "v3" });
        assert.strictEqual(next.state.approvals, undefined);
        assert.deepStrictEqual(next.state.promotionApproval, withHistory.state.promotionApproval);
    });
});

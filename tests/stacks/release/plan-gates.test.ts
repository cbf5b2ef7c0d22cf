/** The stages a run goes through from its entry (plan.ts): all, from a gate, or from where the release is. */
import * as assert from "assert";
import { parsePolicy } from "../../../config/policy";
import { gateBefore, planStages, stagesFrom, stagesFromGate } from "../../../stacks/release/plan";

const stages = planStages(parsePolicy({ releaseSteps: "10,50,100", releaseMirrorPercent: "20" }));
const steps = (...weights: number[]) => weights.map((weight) => ({ phase: "steps", weight }));

describe("plan: gates and the stages from an entry", () => {
    it("a gate stands before its step; the phases before the steps have none", () => {
        assert.deepStrictEqual(
            stages.map((s) => gateBefore(["10", "100"], s)),
            [undefined, "10", undefined, "100"],
        );
    });

    it("from a gate: the gated step on, nothing before completion, undefined for a gate that is no step", () => {
        assert.deepStrictEqual(stagesFromGate(stages, "10"), steps(10, 50, 100));
        assert.deepStrictEqual(stagesFromGate(stages, "50"), steps(50, 100));
        assert.deepStrictEqual(stagesFromGate(stages, "complete"), []);
        assert.strictEqual(stagesFromGate(stages, "25"), undefined);
        assert.strictEqual(stagesFromGate(stages, undefined), undefined);
    });

    it("a fresh release runs every stage, wherever the stack's weight was left", () => {
        assert.deepStrictEqual(stagesFrom({ kind: "fresh" }, stages, { phase: "steps", weight: 50 }), stages);
    });

    it("a resumed one goes on from its stage; one at a gate from the gate, or from its stage if the gate is no step", () => {
        const at = { phase: "mirror" as const, weight: 0 };
        assert.deepStrictEqual(stagesFrom({ kind: "resume-from-stage" }, stages, { weight: 50 }), steps(50, 100));
        assert.deepStrictEqual(stagesFrom({ kind: "from-gate", gate: "10" }, stages, at), steps(10, 50, 100));
        assert.deepStrictEqual(stagesFrom({ kind: "from-gate", gate: "25" }, stages, at), stages);
        assert.deepStrictEqual(
            stagesFrom({ kind: "from-gate" }, stages, { phase: "steps", weight: 50 }),
            steps(50, 100),
        );
    });
});

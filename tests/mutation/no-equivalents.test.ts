/**
 * The edges of code rewritten so that it has no equivalent mutant (issue 21): each case tells the rewritten code
 * from the mutants that used to survive it and were marked equivalent.
 */
import * as assert from "assert";
import { parsePolicy } from "../../config/policy";
import { humanDuration } from "../../stacks/promote/promotion-gates";
import { planStages, resumeStages } from "../../stacks/release/plan";

describe("edges of code without equivalent mutants", () => {
    it("a resumed phase the policy no longer has goes on with the steps, not with the other phase before them", () => {
        // The policy has a header phase but no longer a mirror one: resumed in the mirror phase, the header
        // phase (weight 0, as the mirror) is not run after it; the steps are.
        const stages = planStages(parsePolicy({ releaseSteps: "10,100", releaseHeaderPhase: "true" }));
        assert.deepStrictEqual(resumeStages(stages, "mirror", 0), [
            { phase: "mirror", weight: 0 },
            { phase: "steps", weight: 10 },
            { phase: "steps", weight: 100 },
        ]);
    });

    it("seconds are shown only under an hour: not after whole days, nor after whole hours", () => {
        const s = 1000;
        assert.deepStrictEqual([86_430 * s, 3630 * s, 3599 * s].map(humanDuration), ["1d", "1h", "59m59s"]);
    });
});

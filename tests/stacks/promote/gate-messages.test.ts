import * as assert from "assert";
import { approvePromotion, checkPromotionGates, targetGates } from "../../../stacks/promote/promotion-gates";
import { FakeClock, FakeStack } from "../fakes";
import { stackConfig, V2 } from "../release/bench";

describe("promotion gates: the refusals' messages when a value is missing or invalid", () => {
    it("a soak with no completion message on the source quotes an empty releaseMessage", () => {
        const source = {
            stable: { image: V2, version: "v2" },
            release: { status: "completed" as const, version: "v2" },
        };
        const got = checkPromotionGates(
            { from: "staging", to: "prod", version: "v2", image: V2 },
            source,
            source,
            { soak: "1h", requireApproval: false },
            new Date("2026-11-30T12:00:00Z"),
        );
        assert.deepStrictEqual(got, {
            refuse: 'stack prod asks for a promotionSoakTime of 1h, but the completion time of v2 on stack staging is not recorded (releaseMessage "")',
        });
    });

    it("an approval is refused while a release of an unrecorded version is under way on the target", async () => {
        const target = new FakeStack(stackConfig({ releaseStatus: "in-progress" }));
        await assert.rejects(
            approvePromotion({ to: "prod", version: "v2", image: V2, by: "bob" }, { target, clock: new FakeClock() }),
            {
                name: "PreflightError",
                message: "stack prod has a release of ? under way (in-progress); approve the promotion after it ends",
            },
        );
        assert.strictEqual(target.ups.length, 0);
    });

    it("a target whose release policy is invalid is refused, naming the stack and the problem", async () => {
        const target = new FakeStack(stackConfig({ releaseSteps: "ten" }));
        await assert.rejects(targetGates(target), {
            name: "PreflightError",
            message:
                "the release policy of dev is invalid:\nreleaseSteps must be a comma-separated list of increasing " +
                'integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "ten"',
        });
    });
});

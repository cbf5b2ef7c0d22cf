/**
 * A rollback's cause is data: recorded with the rollback (releaseCause) and reported from there when a rollback
 * is resumed, so rewording a message never changes a cause or an exit code.
 */
import * as assert from "assert";
import { RollbackCause } from "../../../config/release-state";
import { exitCode, EXIT_CODES } from "../../../stacks/release/result";
import { FakeStack, healthy } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

/** What each cause makes a rolled-back release exit with. */
const CODES: Record<RollbackCause, number> = {
    unhealthy: EXIT_CODES.unhealthy,
    hook: EXIT_CODES.unhealthy,
    metrics: EXIT_CODES["metrics-unusable"],
    "update-failed": EXIT_CODES["update-failed"],
    aborted: EXIT_CODES.aborted,
};

/** Wordings the bot once used for other causes: none of them may change the recorded one. */
const MISLEADING = [
    "3 consecutive analyses could not query the metrics (limit 3) at steps 25",
    "aborted by alice at 2026-11-30T10:00:00.000Z",
    "pre-rollout hook smoke (pre-rollout, http://127.0.0.1:1): ECONNREFUSED",
    "2 failed analyses (threshold 2) at steps 25: success-rate=80% (min 99) fail",
    "said otherwise now",
];

describe("release bot: a rollback's cause is recorded, never read from its message (fake stack, clock and metrics)", function () {
    this.timeout(30000);
    const b = memoryBench();

    /** A stack whose rollback of v2 was recorded (rolling-back, or rolled-back but never deployed) with `cause`. */
    function recorded(status: "rolling-back" | "rolled-back", cause: RollbackCause, message: string): FakeStack {
        const state = {
            releaseStatus: status,
            releaseVersion: "v2",
            releaseImage: V2,
            releasePreviousImage: "registry.example.test/shop:1.0.0",
            releasePreviousVersion: "v1",
            releaseMessage: message,
            releaseCause: cause,
        };
        const stack = new FakeStack(stackConfig({ ...state, canaryImage: V2, canaryVersion: "v2" }));
        if (status === "rolled-back") {
            // Killed after writing the final state, before its update: what is deployed is still rolling back.
            stack.deployed = { ...stack.config, releaseStatus: "rolling-back" };
            delete stack.config.canaryImage;
            delete stack.config.canaryVersion;
        }
        return stack;
    }

    for (const cause of Object.keys(CODES) as RollbackCause[]) {
        it(`a resumed rollback recorded as ${cause} reports ${cause} (exit ${CODES[cause]}) whatever its message says`, async () => {
            for (const message of MISLEADING) {
                for (const status of ["rolling-back", "rolled-back"] as const) {
                    const r = await b.bot(recorded(status, cause, message), { resume: true, configFrom: "checkout" });
                    const at = `${status}, "${message}"`;
                    assert.deepStrictEqual([r.outcome, r.cause, r.reason], ["rolled-back", cause, message], at);
                    assert.strictEqual(exitCode(r), CODES[cause], at);
                }
            }
        });
    }

    it("--abort of a rollback in progress keeps its recorded cause, not the abort's", async () => {
        const stack = recorded("rolling-back", "metrics", "reworded");
        const r = await b.bot(stack, {
            resume: true,
            configFrom: "checkout",
            decision: { kind: "abort", by: "carol" },
        });
        assert.deepStrictEqual([r.cause, r.reason, exitCode(r)], ["metrics", "reworded", 6]);
    });

    it("a rollback writes its cause with the rolling-back state and keeps it once rolled back; a new release drops it", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "1" }));
        const r = await b.bot(stack);
        assert.deepStrictEqual([r.outcome, r.cause], ["rolled-back", "unhealthy"]);
        const rolling = stack.ups.find((u) => u.config.releaseStatus === "rolling-back")!;
        assert.strictEqual(rolling.config.releaseCause, "unhealthy");
        assert.deepStrictEqual([stack.config.releaseStatus, stack.config.releaseCause], ["rolled-back", "unhealthy"]);
        b.metrics.answer = healthy(100, 10);
        const next = await b.bot(stack, { image: "registry.example.test/shop:3.0.0", version: "v3" });
        assert.strictEqual(next.outcome, "completed", next.reason);
        assert.strictEqual(stack.ups[stack.ups.length - 8].config.releaseCause, undefined, "the start drops it");
        assert.strictEqual(stack.config.releaseCause, undefined);
    });
});

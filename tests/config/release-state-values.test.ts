import * as assert from "assert";
import { Reader } from "../../config/reader";
import {
    leaseHeld,
    readState,
    recordedCause,
    ReleaseState,
    routedMirrorPercent,
    stateIn,
    toConfig,
} from "../../config/release-state";
import { transitions } from "../../config/release-transitions";
import { running } from "./release-views";

const APPROVAL = { gate: "50", version: "v2", decision: "approve", by: "alice", at: "2026-11-30T10:00:00.000Z" };
const PROMOTION = { version: "v2", by: "alice", at: "2026-11-30T10:00:00.000Z" };

/** The problems reading the release state from `values` reports (none: the state read). */
function problemsOf(values: Record<string, string>): string[] {
    const r = new Reader(values);
    readState(r);
    return r.problems;
}

const approvalsProblem = (raw: string) =>
    `releaseApprovals must be a JSON array of {"gate", "version", "image" (optional), "decision" (approve or abort), "by", "at"}; ` +
    `got ${JSON.stringify(raw)}`;
const promotionProblem = (raw: string) =>
    `promotionApproval must be a JSON object {"version", "image", "by", "at"} with optional "usedAt" (UTC time) and ` +
    `"usedFrom" (a stack name); got ${JSON.stringify(raw)}`;

describe("release state: the recorded decisions are checked field by field", () => {
    it("a well-formed list of decisions and a promotion approval read back as written", () => {
        const values = {
            releaseApprovals: JSON.stringify([APPROVAL, { ...APPROVAL, decision: "abort", by: "bob" }]),
            promotionApproval: JSON.stringify(PROMOTION),
        };
        const r = new Reader(values);
        const state = readState(r);
        assert.deepStrictEqual(r.problems, []);
        assert.deepStrictEqual(state.approvals, [APPROVAL, { ...APPROVAL, decision: "abort", by: "bob" }]);
        assert.deepStrictEqual(state.promotionApproval, PROMOTION);
    });

    const badApprovals: [string, unknown][] = [
        ["a number where the gate's text belongs", [{ ...APPROVAL, gate: 50 }]],
        ["a field the protocol does not have", [{ ...APPROVAL, note: "ok" }]],
        ["null for a decision", [null]],
        ["an object, not a list", APPROVAL],
        ["a text, not a list", "approve"],
        ["one good decision beside a bad one", [APPROVAL, { ...APPROVAL, decision: "maybe" }]],
    ];
    for (const [what, value] of badApprovals) {
        it(`releaseApprovals with ${what} is a problem naming the key`, () => {
            const raw = JSON.stringify(value);
            assert.deepStrictEqual(problemsOf({ releaseApprovals: raw }), [approvalsProblem(raw)]);
        });
    }

    const badPromotions: [string, unknown][] = [
        ["a field the protocol does not have", { ...PROMOTION, gate: "50" }],
        ["a number for the version", { ...PROMOTION, version: 2 }],
        ["a list", [PROMOTION]],
    ];
    for (const [what, value] of badPromotions) {
        it(`promotionApproval with ${what} is a problem naming the key`, () => {
            const raw = JSON.stringify(value);
            assert.deepStrictEqual(problemsOf({ promotionApproval: raw }), [promotionProblem(raw)]);
        });
    }

    it("a promotionApproval or releaseApprovals that is not JSON at all is a problem naming the key", () => {
        assert.deepStrictEqual(problemsOf({ promotionApproval: "{version" }), [promotionProblem("{version")]);
        assert.deepStrictEqual(problemsOf({ releaseApprovals: "[gate" }), [approvalsProblem("[gate")]);
    });
});

describe("release state: what the program routes and writes", () => {
    const at = (status: ReleaseState["status"], phase?: ReleaseState["phase"]): ReleaseState => ({ status, phase });

    it("the policy's mirror percent holds only while a release runs or waits in its mirror phase", () => {
        assert.strictEqual(routedMirrorPercent(at("in-progress", "mirror"), 40, 5), 40);
        assert.strictEqual(routedMirrorPercent(at("awaiting-approval", "mirror"), 40, 5), 40);
        assert.strictEqual(routedMirrorPercent(at("rolling-back", "mirror"), 40, 5), 5);
        assert.strictEqual(routedMirrorPercent(at("completed", "mirror"), 40, 5), 5);
        assert.strictEqual(routedMirrorPercent(at("in-progress", "steps"), 40, 5), 5);
    });

    it("toConfig writes texts as they are, lists and objects as JSON, and unset fields as undefined", () => {
        const out = toConfig({
            state: { status: "completed", version: "v2", approvals: [APPROVAL as never], promotionApproval: PROMOTION },
            canaryWeight: 0,
            stable: { image: "r/app:2", version: "v2" },
        });
        assert.strictEqual(out.releaseStatus, "completed");
        assert.strictEqual(out.releaseVersion, "v2");
        assert.strictEqual(out.releaseApprovals, JSON.stringify([APPROVAL]));
        assert.strictEqual(out.promotionApproval, JSON.stringify(PROMOTION));
        assert.ok("releaseMessage" in out);
        assert.strictEqual(out.releaseMessage, undefined);
    });

    it("a lease is held until the instant it expires, not at it", () => {
        const lease = { owner: "host:1:a", expires: "2026-11-30T10:00:00.000Z" };
        assert.strictEqual(leaseHeld(lease, new Date("2026-11-30T09:59:59.999Z")), true);
        assert.strictEqual(leaseHeld(lease, new Date("2026-11-30T10:00:00.000Z")), false);
        assert.strictEqual(leaseHeld(undefined, new Date("2026-11-30T09:00:00.000Z")), false);
    });
});

describe("release state: a rollback's cause", () => {
    it("is recorded by the rollback with its reason, kept once rolled back, and written as releaseCause", () => {
        const back = transitions.rollBack(running, "2 failed analyses", "unhealthy");
        assert.deepStrictEqual([back.state.message, back.state.cause], ["2 failed analyses", "unhealthy"]);
        const done = transitions.finishRollback(back);
        assert.strictEqual(done.state.cause, "unhealthy");
        assert.strictEqual(toConfig(done).releaseCause, "unhealthy");
        assert.strictEqual(recordedCause(done.state), "unhealthy");
    });

    it("reads back as written; a state without one has no cause field; an unknown one is a problem naming the key", () => {
        assert.strictEqual(stateIn({ releaseStatus: "rolled-back", releaseCause: "metrics" }).cause, "metrics");
        assert.strictEqual("cause" in stateIn({ releaseStatus: "completed" }), false);
        assert.deepStrictEqual(problemsOf({ releaseCause: "flaky" }), [
            'releaseCause must be one of unhealthy, hook, metrics, update-failed, aborted; got "flaky"',
        ]);
        assert.strictEqual("cause" in stateIn({ releaseCause: "flaky" }), false, "lenient: a malformed cause is unset");
    });

    it("a rollback recorded without its cause (by hand, or by an older bot) counts as a failed update", () => {
        assert.strictEqual(recordedCause({ status: "rolling-back", message: "2 failed analyses" }), "update-failed");
        assert.strictEqual(recordedCause({ status: "rolling-back", cause: "aborted" }), "aborted");
    });
});

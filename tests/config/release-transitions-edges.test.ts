import * as assert from "assert";
import { configChanges, ReleaseView } from "../../config/release-state";
import { decisionAtGate, transitions } from "../../config/release-transitions";
import { approval, running } from "./release-views";

const withState = (state: Partial<ReleaseView["state"]>, v: ReleaseView = running): ReleaseView => ({
    ...v,
    state: { ...v.state, ...state },
});

describe("release transitions: messages and edge cases", () => {
    it("a transition from a status it does not start from names the statuses it starts from", () => {
        const idle = withState({ status: "idle" });
        assert.throws(() => transitions.stage(idle, { phase: "steps", weight: 50 }), {
            name: "TransitionError",
            message: 'release transition "stage" is not allowed from releaseStatus "idle" (only from in-progress)',
        });
        assert.throws(() => transitions.rollBack(idle, "x", "unhealthy"), {
            message:
                'release transition "rollBack" is not allowed from releaseStatus "idle" ' +
                "(only from in-progress, awaiting-approval, rolling-back)",
        });
    });

    it("a decision or a pass at a gate with no version or gate recorded says '?' for the missing part", () => {
        const noVersion = withState({ status: "awaiting-approval", gate: "50", version: undefined });
        assert.throws(() => transitions.recordDecision(noVersion, approval()), {
            name: "DecisionMismatchError",
            message: "the release waiting for approval is ?, not v2",
        });
        const noGate = withState({ status: "awaiting-approval", gate: undefined });
        assert.throws(() => transitions.recordDecision(noGate, approval()), {
            name: "DecisionMismatchError",
            message: "the release of v2 waits at gate ?, not 50",
        });
        const neither = withState({ status: "awaiting-approval", gate: undefined, version: undefined });
        assert.throws(() => transitions.passGate(neither), { message: "gate ? of ? is not approved" });
    });

    it("the decision at the gate is the latest for this gate and this version, not another version's", () => {
        const waiting = withState({
            status: "awaiting-approval",
            gate: "50",
            approvals: [approval({ by: "alice" }), approval({ version: "v1", decision: "abort", by: "bob" })],
        });
        assert.strictEqual(decisionAtGate(waiting)?.by, "alice");
        assert.strictEqual(transitions.passGate(waiting).state.status, "in-progress");
    });

    it("a rollback restores the previous stable only when stable is exactly the release (image and version)", () => {
        const promoted = transitions.promoteStable(running);
        assert.deepStrictEqual(transitions.rollBack(promoted, "x", "unhealthy").stable, {
            image: "r/app:1",
            version: "v1",
        });
        const sameImage = { ...running, stable: { image: "r/app:2", version: "v9" } };
        assert.deepStrictEqual(transitions.rollBack(sameImage, "x", "unhealthy").stable, {
            image: "r/app:2",
            version: "v9",
        });
        const sameVersion = { ...running, stable: { image: "r/app:9", version: "v2" } };
        assert.deepStrictEqual(transitions.rollBack(sameVersion, "x", "unhealthy").stable, {
            image: "r/app:9",
            version: "v2",
        });
        const noRelease = withState({ image: undefined, version: undefined });
        assert.deepStrictEqual(transitions.rollBack(noRelease, "x", "unhealthy").stable, {
            image: "r/app:1",
            version: "v1",
        });
    });

    it("a rollback's reason is kept up to 300 characters, longer ones cut to 297 and '...'", () => {
        const reasonAfter = (reason: string) => transitions.rollBack(running, reason, "unhealthy").state.message;
        assert.strictEqual(reasonAfter("short"), "short");
        const exact = "a".repeat(300);
        assert.strictEqual(reasonAfter(exact), exact);
        assert.strictEqual(reasonAfter(`${"b".repeat(297)}cdef`), `${"b".repeat(297)}...`);
    });

    it("a rollback's reason is stored in releaseMessage on one line, without any URL's credentials", () => {
        const message = transitions.rollBack(
            running,
            "Prometheus unreachable at https://bot:pw@prom.example.com/?token=T0KEN:\nsocket hang up\u0000",
            "metrics",
        ).state.message;
        assert.strictEqual(
            message,
            "Prometheus unreachable at https://***@prom.example.com/?token=***: socket hang up",
        );
    });

    it("completion records its time in the message; promoting with no release recorded says what is unset", () => {
        const done = transitions.recordCompletion(running, new Date("2026-11-30T11:00:00.000Z"));
        assert.strictEqual(done.state.message, "completed 2026-11-30T11:00:00.000Z");
        assert.deepStrictEqual(configChanges(running, done), {
            canaryImage: undefined,
            canaryVersion: undefined,
            releaseStatus: "completed",
            releasePhase: undefined,
            releaseMessage: "completed 2026-11-30T11:00:00.000Z",
        });
        const nothing = withState({ image: undefined }, { ...running, canary: undefined });
        assert.throws(() => transitions.promoteStable(nothing), {
            message: "no release in progress: releaseImage and releaseVersion are unset",
        });
    });
});

/**
 * What a run does first, decided in one place: from the release as stack config holds it (read once the lease is
 * taken) and what was asked (`--resume`, `--approve`, `--abort`). Pure; tests/stacks/release/entry.test.ts is its
 * table. run.ts's `drive` is a switch on the entry. A dry run enters the same way: its stack previews instead of
 * updating, so what it shows is what the same flags would do.
 */
import { ACTIVE_STATUSES, Gate, GateDecisionKind, ReleaseState, ReleaseView } from "../../config/release-state";
import { describeGate } from "./wording";

/** What was asked of a run (the release options it reads). */
export interface EntryRequest {
    /** Continue the release in progress (or its rollback, or a final write never deployed). */
    resume?: boolean;
    /** A person's decision at the gate the release waits at (implies resume). */
    decision?: { kind: GateDecisionKind; by: string; gate?: string };
    /** With a decision: the version decided on. */
    version?: string;
    /** With a decision: the image decided on. */
    image?: string;
}

/** Where a run enters the release. */
export type Entry =
    /** A new release: the canary deployed at weight 0, the pre-rollout hooks, then every stage. */
    | { kind: "fresh" }
    /** The release in progress, from the stage it was in: applied again (converged) and analysed again. */
    | { kind: "resume-from-stage" }
    /**
     * The release waiting at its gate, from the gated stage on: `approvedBy` records the decision and passes the
     * gate in one update (`--approve`); without it the release waits at the gate again.
     */
    | { kind: "from-gate"; gate?: Gate; approvedBy?: string }
    /** The rollback in progress, finished with its recorded reason and cause; an `--abort` of it is only told. */
    | { kind: "finish-rollback"; abortedBy?: string }
    /** `--abort` of a release in progress or waiting at a gate: rolled back now, cause "aborted". */
    | { kind: "abort"; by: string }
    /** A final write (completed, rolled back) that a killed bot never deployed: deployed now. */
    | { kind: "apply-final" }
    /** Nothing this run may do: preflight refuses with the reason, changing nothing. */
    | { kind: "refused"; reason: string };

/** An entry a run goes on with (preflight refuses the others). */
export type RunEntry = Exclude<Entry, { kind: "refused" }>;

/** The entries that roll the release out (start, or go on with it): the others end it. */
export type RolloutEntry = Extract<Entry, { kind: "fresh" | "resume-from-stage" | "from-gate" }>;

/** How a refusal names each active status. */
const ACTIVE_WORDS: Partial<Record<ReleaseState["status"], string>> = {
    "in-progress": "in progress",
    "awaiting-approval": "waiting for approval",
    "rolling-back": "rolling back",
};

/**
 * Where a run on `stack` enters the release `view` holds, given what was asked. `undeployed`: stack config holds
 * writes of the release that the deployed stack does not (a bot killed between a write and its update).
 *
 * - a decision that does not fit the release is refused ({@link decisionProblem});
 * - no resume and no decision: a fresh release, refused while one is under way;
 * - otherwise (a decision implies resume) there must be a release to resume: under way, or a final write never
 *   deployed. Then `--approve` goes on from the gate; `--abort` rolls back, or finishes the rollback under way;
 *   a plain resume finishes the rollback, waits at the gate again, goes on from the stage the release is at, or
 *   deploys the final write.
 */
export function entryOf(stack: string, view: ReleaseView, asked: EntryRequest, undeployed: boolean): Entry {
    const { state } = view;
    const d = asked.decision;
    const problem = d === undefined ? undefined : decisionProblem(stack, state, d, asked);
    if (problem !== undefined) {
        return { kind: "refused", reason: problem };
    }
    if (!asked.resume && d === undefined) {
        return ACTIVE_STATUSES.includes(state.status)
            ? {
                  kind: "refused",
                  reason:
                      `a release is already ${ACTIVE_WORDS[state.status]} on stack ${stack}: ${state.version ?? "?"} at ` +
                      `canaryWeight ${view.canaryWeight}. Resume it with --resume (only if no other bot is running it).`,
              }
            : { kind: "fresh" };
    }
    const finalWrite = (state.status === "completed" || state.status === "rolled-back") && undeployed;
    if (
        !(ACTIVE_STATUSES.includes(state.status) || finalWrite) ||
        state.image === undefined ||
        state.version === undefined
    ) {
        return {
            kind: "refused",
            reason: `nothing to resume on stack ${stack}: releaseStatus is "${state.status}", not "in-progress", "awaiting-approval" or "rolling-back"`,
        };
    }
    if (d?.kind === "approve") {
        return { kind: "from-gate", gate: state.gate, approvedBy: d.by };
    }
    if (d?.kind === "abort") {
        return state.status === "rolling-back"
            ? { kind: "finish-rollback", abortedBy: d.by }
            : { kind: "abort", by: d.by };
    }
    switch (state.status) {
        case "rolling-back":
            return { kind: "finish-rollback" };
        case "awaiting-approval":
            return { kind: "from-gate", gate: state.gate };
        case "in-progress":
            return { kind: "resume-from-stage" };
        default:
            return { kind: "apply-final" };
    }
}

/**
 * Why a decision cannot be taken on this release, or undefined when it can: wrong stack (no release there),
 * a release that moved on (another gate, no longer waiting), another version or image than the one named (`asked`:
 * `--version`, `--image`). An approval is for what waits: each refusal says what waits and what does not match.
 */
export function decisionProblem(
    stack: string,
    state: ReleaseState,
    d: { kind: GateDecisionKind; gate?: string },
    asked: { version?: string; image?: string } = {},
): string | undefined {
    if (!ACTIVE_STATUSES.includes(state.status)) {
        return (
            `stack ${stack} has no release ${d.kind === "approve" ? "waiting for approval" : "to abort"} ` +
            `(releaseStatus is "${state.status}"${state.version ? `, last release ${state.version}` : ""}): wrong stack?`
        );
    }
    const release = `${state.version ?? "?"} (image ${state.image ?? "?"})`;
    const there =
        state.status === "awaiting-approval"
            ? `stack ${stack} waits at gate ${state.gate ?? "?"} (${describeGate(state.gate ?? "?")}) for ${release}`
            : `the release on stack ${stack} is ${release}, ${state.status}`;
    const mismatch = (flag: string, value: string, why: string) =>
        `${there}; --${d.kind} ${flag} ${value} does not match: ${why}`;
    if (asked.version !== undefined && asked.version !== state.version) {
        return mismatch("--version", asked.version, "a decision is for one version");
    }
    if (asked.image !== undefined && asked.image !== state.image) {
        return mismatch("--image", asked.image, "a decision is for one image");
    }
    if (d.kind === "abort") {
        return undefined;
    }
    if (state.status !== "awaiting-approval") {
        return (
            `the release of ${state.version ?? "?"} on stack ${stack} is not waiting for approval (it is ` +
            `${state.status}${state.phase ? `, ${state.phase}` : ""}): it moved on`
        );
    }
    if (d.gate !== undefined && d.gate !== state.gate) {
        return mismatch("--gate", d.gate, "it moved on");
    }
    return undefined;
}

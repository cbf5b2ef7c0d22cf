/**
 * The typed transitions of a release (see release-state.ts for the protocol): each allowed from the statuses in
 * {@link TRANSITION_FROM}, each a pure function from one {@link ReleaseView} to the next.
 */
import { TrackValues } from "../components/canary-release-args";
import { redactUrl } from "../components/redact";
import { CONTROL_CHARS } from "../components/validation";
import {
    Approval,
    GateDecisionKind,
    Lease,
    MAX_MESSAGE_LENGTH,
    ReleaseState,
    ReleaseStatus,
    ReleaseView,
    RollbackCause,
    StagePosition,
    RELEASE_STATUSES,
} from "./release-state";

/** The names of the transitions, and the statuses each may start from. */
export const TRANSITION_FROM = {
    acquire: RELEASE_STATUSES,
    letGo: RELEASE_STATUSES,
    start: ["idle", "completed", "rolled-back", "failed"],
    stage: ["in-progress"],
    countFailure: ["in-progress"],
    awaitApproval: ["in-progress"],
    recordDecision: ["awaiting-approval"],
    passGate: ["awaiting-approval"],
    rollBack: ["in-progress", "awaiting-approval", "rolling-back"],
    finishRollback: ["rolling-back"],
    retireCanary: ["idle", "completed", "rolled-back", "failed"],
    promoteStable: ["in-progress"],
    routeToStable: ["in-progress"],
    recordCompletion: ["in-progress"],
} as const satisfies Record<string, readonly ReleaseStatus[]>;
export type TransitionName = keyof typeof TRANSITION_FROM;

/** A transition tried from a status it does not start from: a bug, or a stack changed under the bot. */
export class TransitionError extends Error {
    constructor(name: TransitionName, from: ReleaseStatus) {
        super(
            `release transition "${name}" is not allowed from releaseStatus "${from}" ` +
                `(only from ${TRANSITION_FROM[name].join(", ")})`,
        );
        this.name = "TransitionError";
    }
}

/** A gate decision that is not for the gate the release waits at (another gate, another version). */
export class DecisionMismatchError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DecisionMismatchError";
    }
}

function guard(name: TransitionName, v: Pick<ReleaseView, "state">): void {
    if (!(TRANSITION_FROM[name] as readonly ReleaseStatus[]).includes(v.state.status)) {
        throw new TransitionError(name, v.state.status);
    }
}

const sameTrack = (a: TrackValues | undefined, b: TrackValues | undefined) =>
    a !== undefined && b !== undefined && a.image === b.image && a.version === b.version;

/**
 * The decision recorded for the gate the release waits at, if any (the latest wins): for its gate, its version and
 * its image (a decision recorded without an image, by an older bot, names none).
 */
export function decisionAtGate(v: ReleaseView): Approval | undefined {
    const { gate, version, image, approvals } = v.state;
    return [...(approvals ?? [])]
        .reverse()
        .find((a) => a.gate === gate && a.version === version && (a.image === undefined || a.image === image));
}

/** A person's decision `by` someone at the gate `state` waits at, for its version and image, taken `at`. */
export function decisionFor(state: ReleaseState, decision: GateDecisionKind, by: string, at: Date): Approval {
    return {
        gate: state.gate!,
        version: state.version!,
        ...(state.image !== undefined ? { image: state.image } : {}),
        decision,
        by,
        at: at.toISOString(),
    };
}

/** The typed transitions of a release. Each returns a new view; none changes its input. */
export const transitions = {
    /** A bot takes (or renews) the lease on the release; nothing else changes. */
    acquire(v: ReleaseView, lease: Lease): ReleaseView {
        guard("acquire", v);
        return { ...v, state: { ...v.state, owner: lease.owner, leaseExpires: lease.expires } };
    },

    /** The bot lets go of its lease on the release (it stopped, and another bot may resume it). */
    letGo(v: ReleaseView): ReleaseView {
        guard("letGo", v);
        return { ...v, state: { ...v.state, owner: undefined, leaseExpires: undefined } };
    },

    /**
     * The canary runs the new version at weight 0; the stable it replaces is recorded for a rollback. The gate
     * decisions and failed analyses of an earlier release are dropped; a promotion approval stays, marked used
     * (when and from which stack) when this release is the promotion that uses it (`used`).
     */
    start(v: ReleaseView, release: TrackValues, used?: { at: Date; from: string }): ReleaseView {
        guard("start", v);
        const approval = v.state.promotionApproval;
        return {
            ...v,
            canaryWeight: 0,
            canary: { ...release },
            state: {
                status: "in-progress",
                version: release.version,
                image: release.image,
                phase: "steps",
                previousImage: v.stable.image,
                previousVersion: v.stable.version,
                owner: v.state.owner,
                leaseExpires: v.state.leaseExpires,
                promotionApproval:
                    approval !== undefined && used !== undefined
                        ? { ...approval, usedAt: used.at.toISOString(), usedFrom: used.from }
                        : approval,
            },
        };
    },

    /** The canary moves to a stage's phase and weight. */
    stage(v: ReleaseView, at: StagePosition): ReleaseView {
        guard("stage", v);
        return { ...v, canaryWeight: at.weight, state: { ...v.state, phase: at.phase } };
    },

    /** An analysis failed: the release's count of failed analyses (over every stage) is `count` now. */
    countFailure(v: ReleaseView, count: number): ReleaseView {
        guard("countFailure", v);
        return { ...v, state: { ...v.state, failedAnalyses: count } };
    },

    /** The release waits at a manual gate, its traffic where it is, for a person's decision. */
    awaitApproval(v: ReleaseView, gate: string): ReleaseView {
        guard("awaitApproval", v);
        return { ...v, state: { ...v.state, status: "awaiting-approval", gate } };
    },

    /**
     * A person's decision at the gate the release waits at, recorded (the status stays: the bot that holds the
     * release acts on it). Only the state changes: a state alone (`{ state }`) may be given. Throws
     * {@link DecisionMismatchError} for another gate or version.
     */
    recordDecision<V extends Pick<ReleaseView, "state">>(v: V, d: Approval): V {
        guard("recordDecision", v);
        if (d.version !== v.state.version) {
            throw new DecisionMismatchError(
                `the release waiting for approval is ${v.state.version ?? "?"}, not ${d.version}`,
            );
        }
        if (d.image !== undefined && d.image !== v.state.image) {
            throw new DecisionMismatchError(
                `the release of ${d.version} waiting for approval runs ${v.state.image ?? "?"}, not ${d.image}`,
            );
        }
        if (d.gate !== v.state.gate) {
            throw new DecisionMismatchError(
                `the release of ${d.version} waits at gate ${v.state.gate ?? "?"}, not ${d.gate}`,
            );
        }
        return { ...v, state: { ...v.state, approvals: [...(v.state.approvals ?? []), d] } };
    },

    /** The gate was approved: the release goes on. */
    passGate(v: ReleaseView): ReleaseView {
        guard("passGate", v);
        if (decisionAtGate(v)?.decision !== "approve") {
            throw new DecisionMismatchError(`gate ${v.state.gate ?? "?"} of ${v.state.version ?? "?"} is not approved`);
        }
        return { ...v, state: { ...v.state, status: "in-progress", gate: undefined } };
    },

    /**
     * Rollback, first update: all traffic on stable, recorded as "rolling-back" with its reason and cause (so a kill
     * here resumes the rollback, and reports the same cause). Stable goes back to the version the release started from only if this release changed it (a
     * failed completion); a stable changed by someone else during the release (a hotfix) stays.
     */
    rollBack(v: ReleaseView, reason: string, cause: RollbackCause): ReleaseView {
        guard("rollBack", v);
        const s = v.state;
        const released =
            s.image !== undefined && s.version !== undefined ? { image: s.image, version: s.version } : undefined;
        const previous =
            s.previousImage !== undefined && s.previousVersion !== undefined
                ? { image: s.previousImage, version: s.previousVersion }
                : undefined;
        const stable = previous !== undefined && sameTrack(v.stable, released) ? previous : v.stable;
        return {
            ...v,
            canaryWeight: 0,
            stable,
            state: {
                ...s,
                status: "rolling-back",
                phase: undefined,
                gate: undefined,
                message: storedMessage(reason),
                cause,
            },
        };
    },

    /** Rollback, last update: the canary track runs the stable version again; recorded, lease let go. */
    finishRollback(v: ReleaseView): ReleaseView {
        guard("finishRollback", v);
        return {
            ...v,
            canaryWeight: 0,
            canary: undefined,
            state: { ...v.state, status: "rolled-back", phase: undefined, owner: undefined, leaseExpires: undefined },
        };
    },

    /** The canary track runs the stable version again (no release in progress). */
    retireCanary(v: ReleaseView): ReleaseView {
        guard("retireCanary", v);
        return { ...v, canary: undefined };
    },

    /** Completion, first update: stable runs the release while the canary still serves its share. */
    promoteStable(v: ReleaseView): ReleaseView {
        guard("promoteStable", v);
        const release = v.canary ?? requireRelease(v);
        return { ...v, stable: { ...release }, state: { ...v.state, phase: "complete" } };
    },

    /** Completion, second update: all traffic on stable. */
    routeToStable(v: ReleaseView): ReleaseView {
        guard("routeToStable", v);
        return { ...v, canaryWeight: 0 };
    },

    /** Completion, last update: recorded, the canary track retired, the lease let go. */
    recordCompletion(v: ReleaseView, at: Date): ReleaseView {
        guard("recordCompletion", v);
        return {
            ...v,
            canary: undefined,
            state: {
                ...v.state,
                status: "completed",
                phase: undefined,
                message: `completed ${at.toISOString()}`,
                owner: undefined,
                leaseExpires: undefined,
            },
        };
    },
};

function requireRelease(v: ReleaseView): TrackValues {
    if (v.state.image === undefined || v.state.version === undefined) {
        throw new Error("no release in progress: releaseImage and releaseVersion are unset");
    }
    return { image: v.state.image, version: v.state.version };
}

const CONTROL_RUNS = new RegExp(`${CONTROL_CHARS.source}+`, "g");

/**
 * A reason as releaseMessage stores it: one line without control characters, without any URL's credentials
 * (a reason may quote what Prometheus or a hook answered), at most {@link MAX_MESSAGE_LENGTH} characters.
 */
export function storedMessage(text: string): string {
    const line = redactUrl(text).replace(CONTROL_RUNS, " ").trim();
    return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : line;
}

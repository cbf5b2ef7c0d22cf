/**
 * The release protocol: what the release bot records in stack config and the program reads back.
 *
 * A release is one typed value, {@link ReleaseView}: the bot's own state (status, phase, version, the stable it
 * replaces, the owner lease) plus the program keys a release moves (the canary weight, the canary and stable
 * tracks). The bot changes it only through the {@link transitions} below, each allowed from the statuses in
 * {@link TRANSITION_FROM}, and writes exactly the keys a transition changed ({@link configChanges}), so
 * `pulumi stack history` shows every step of the protocol.
 *
 *   idle | completed | rolled-back | failed --start--> in-progress --stage--> in-progress
 *   in-progress --promoteStable, routeToStable--> in-progress (phase complete) --recordCompletion--> completed
 *   in-progress | rolling-back --rollBack--> rolling-back --finishRollback--> rolled-back
 *
 * "rolling-back" is written before the routing update of a rollback, so a bot killed during a rollback resumes
 * the rollback (and a plain `pulumi up` of that config finishes its routing part).
 */
import { TrackValues } from "../components/canary-release-args";
import { IMAGE_ACCEPTS, VERSION_ACCEPTS } from "../components/validation";
import { Reader } from "./reader";

/** Lifecycle of a release as the bot records it in stack config. */
export const RELEASE_STATUSES = ["idle", "in-progress", "rolling-back", "completed", "rolled-back", "failed"] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Statuses in which a bot still has work to do (`--resume` continues them). */
export const ACTIVE_STATUSES: readonly ReleaseStatus[] = ["in-progress", "rolling-back"];

/** Phases of a release in progress. */
export const RELEASE_PHASES = ["mirror", "header", "steps", "complete"] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];

/** What the release bot last recorded in stack config. */
export interface ReleaseState {
    status: ReleaseStatus;
    version?: string;
    image?: string;
    phase?: ReleasePhase;
    /** Why the last release ended as it did. */
    message?: string;
    /** What stable ran when the release started: a rollback puts it back. */
    previousImage?: string;
    previousVersion?: string;
    /** The bot that holds the release (its lease id), while one does. */
    owner?: string;
    /** When the owner's lease runs out (ISO 8601), unless it renews it. */
    leaseExpires?: string;
}

/** The config key of each state field: declared here once, read by {@link readState}, written by the bot. */
export const STATE_KEYS = {
    status: "releaseStatus",
    version: "releaseVersion",
    image: "releaseImage",
    phase: "releasePhase",
    message: "releaseMessage",
    previousImage: "releasePreviousImage",
    previousVersion: "releasePreviousVersion",
    owner: "releaseOwner",
    leaseExpires: "releaseLeaseExpires",
} as const satisfies Record<keyof ReleaseState, string>;

/** The program keys a release moves (declared by the program's reader, config/program.ts). */
export const TRACK_KEYS = {
    canaryWeight: "canaryWeight",
    stableImage: "stableImage",
    stableVersion: "stableVersion",
    canaryImage: "canaryImage",
    canaryVersion: "canaryVersion",
} as const;

/** Every key of the protocol: what the bot reads back from the deployed config. */
export const PROTOCOL_KEYS: readonly string[] = [...Object.values(TRACK_KEYS), ...Object.values(STATE_KEYS)];

/**
 * The keys whose disagreement between a checkout and the deployed stack matters: starting from the wrong side
 * would redeploy an old stable or lose a release in progress.
 */
export const DECISIVE_KEYS: readonly string[] = [
    TRACK_KEYS.stableImage,
    TRACK_KEYS.stableVersion,
    STATE_KEYS.status,
    STATE_KEYS.version,
    STATE_KEYS.image,
];

const LEASE_ID = /^[A-Za-z0-9][-A-Za-z0-9_.:@]{0,127}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Reads the release state's keys (group "Release state"). */
export function readState(r: Reader): ReleaseState {
    r.group = "Release state (written by the release bot)";
    const K = STATE_KEYS;
    return {
        status:
            r.oneOf(K.status, { doc: "Where the last release stands.", values: RELEASE_STATUSES, def: "idle" }) ??
            "idle",
        version: r.string(K.version, {
            doc: "Version of the release in progress or last released.",
            accepts: VERSION_ACCEPTS,
        }),
        image: r.string(K.image, { doc: "Image of the release in progress or last released.", accepts: IMAGE_ACCEPTS }),
        phase: r.oneOf(K.phase, { doc: "Phase of the release in progress.", values: RELEASE_PHASES }),
        message: r.string(K.message, { doc: "Why the last release ended as it did." }),
        previousImage: r.string(K.previousImage, {
            doc: "Stable image when the release started (rollback target).",
            accepts: IMAGE_ACCEPTS,
        }),
        previousVersion: r.string(K.previousVersion, {
            doc: "Stable version when the release started (rollback target).",
            accepts: VERSION_ACCEPTS,
        }),
        owner: r.string(K.owner, {
            doc: "Lease id of the release bot running the release (host:pid:nonce).",
            accepts: "a lease id (letters, digits and -_.:@, at most 128)",
            pattern: LEASE_ID,
        }),
        leaseExpires: r.string(K.leaseExpires, {
            doc: "When the owner's lease expires unless renewed (UTC, ISO 8601).",
            accepts: 'a UTC time such as "2026-11-30T10:00:00Z"',
            pattern: ISO_TIME,
        }),
    };
}

/**
 * The mirror percentage the program routes with: during the bot's mirror phase, the policy's
 * `releaseMirrorPercent`; otherwise the user's own `mirrorPercent` (which the bot never touches).
 */
export function routedMirrorPercent(state: ReleaseState, policyMirror: number, userMirror: number): number {
    return state.status === "in-progress" && state.phase === "mirror" ? policyMirror : userMirror;
}

/** Everything a release reads and writes. */
export interface ReleaseView {
    state: ReleaseState;
    canaryWeight: number;
    stable: TrackValues;
    canary?: TrackValues;
}

/** Config changes: a value sets the key, undefined removes it. */
export type ConfigChanges = Record<string, string | undefined>;

/** The config of a view, every key present (undefined where unset). */
export function toConfig(v: ReleaseView): ConfigChanges {
    const out: ConfigChanges = {
        [TRACK_KEYS.canaryWeight]: String(v.canaryWeight),
        [TRACK_KEYS.stableImage]: v.stable.image,
        [TRACK_KEYS.stableVersion]: v.stable.version,
        [TRACK_KEYS.canaryImage]: v.canary?.image,
        [TRACK_KEYS.canaryVersion]: v.canary?.version,
    };
    for (const [field, key] of Object.entries(STATE_KEYS)) {
        out[key] = v.state[field as keyof ReleaseState];
    }
    return out;
}

/** The keys that differ between `from` and `to`, with their values in `to`. */
export function configChanges(from: ReleaseView, to: ReleaseView): ConfigChanges {
    const a = toConfig(from);
    const b = toConfig(to);
    return Object.fromEntries(Object.entries(b).filter(([k, v]) => a[k] !== v));
}

/** A stage of a release: a phase and the canary weight it runs at. */
export interface StagePosition {
    phase: ReleasePhase;
    weight: number;
}

/** A bot's hold on a release: its id and when the hold runs out. */
export interface Lease {
    owner: string;
    expires: string;
}

/** The lease a view records, if any. */
export function leaseOf(v: ReleaseView): Lease | undefined {
    const { owner, leaseExpires } = v.state;
    return owner === undefined ? undefined : { owner, expires: leaseExpires ?? new Date(0).toISOString() };
}

/** True when `lease` is held at `now` (not expired). */
export function leaseHeld(lease: Lease | undefined, now: Date): lease is Lease {
    return lease !== undefined && Date.parse(lease.expires) > now.getTime();
}

/** The names of the transitions, and the statuses each may start from. */
export const TRANSITION_FROM = {
    acquire: RELEASE_STATUSES,
    release: RELEASE_STATUSES,
    start: ["idle", "completed", "rolled-back", "failed"],
    stage: ["in-progress"],
    rollBack: ["in-progress", "rolling-back"],
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

function guard(name: TransitionName, v: ReleaseView): void {
    if (!(TRANSITION_FROM[name] as readonly ReleaseStatus[]).includes(v.state.status)) {
        throw new TransitionError(name, v.state.status);
    }
}

const sameTrack = (a: TrackValues | undefined, b: TrackValues | undefined) =>
    a !== undefined && b !== undefined && a.image === b.image && a.version === b.version;

/** The typed transitions of a release. Each returns a new view; none changes its input. */
export const transitions = {
    /** A bot takes (or renews) the lease on the release; nothing else changes. */
    acquire(v: ReleaseView, lease: Lease): ReleaseView {
        guard("acquire", v);
        return { ...v, state: { ...v.state, owner: lease.owner, leaseExpires: lease.expires } };
    },

    /** The bot lets go of the release (it stopped, and another bot may resume it). */
    release(v: ReleaseView): ReleaseView {
        guard("release", v);
        return { ...v, state: { ...v.state, owner: undefined, leaseExpires: undefined } };
    },

    /** The canary runs the new version at weight 0; the stable it replaces is recorded for a rollback. */
    start(v: ReleaseView, release: TrackValues): ReleaseView {
        guard("start", v);
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
            },
        };
    },

    /** The canary moves to a stage's phase and weight. */
    stage(v: ReleaseView, at: StagePosition): ReleaseView {
        guard("stage", v);
        return { ...v, canaryWeight: at.weight, state: { ...v.state, phase: at.phase } };
    },

    /**
     * Rollback, first update: all traffic on stable, recorded as "rolling-back" (so a kill here resumes the
     * rollback). Stable goes back to the version the release started from only if this release changed it (a
     * failed completion); a stable changed by someone else during the release (a hotfix) stays.
     */
    rollBack(v: ReleaseView, reason: string): ReleaseView {
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
            state: { ...s, status: "rolling-back", phase: undefined, message: truncate(reason) },
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

function truncate(text: string): string {
    return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/**
 * The release protocol: what the release bot records in stack config and the program reads back.
 *
 * A release is one typed value, {@link ReleaseView}: the bot's own state (status, phase, version, the stable it
 * replaces) plus the program keys a release moves (the canary weight, the canary and stable tracks). The bot
 * changes it only through the transitions below, and writes exactly the keys a transition changed
 * ({@link configChanges}), so `pulumi stack history` shows every step of the protocol.
 */
import { TrackValues } from "../components/canary-release-args";
import { IMAGE_ACCEPTS, VERSION_ACCEPTS } from "../components/validation";
import { Reader } from "./reader";

/** Lifecycle of a release as the bot records it in stack config. */
export const RELEASE_STATUSES = ["idle", "in-progress", "completed", "rolled-back", "failed"] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

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
} as const satisfies Record<keyof ReleaseState, string>;

/** The program keys a release moves (declared by the program's reader, config/program.ts). */
export const TRACK_KEYS = {
    canaryWeight: "canaryWeight",
    stableImage: "stableImage",
    stableVersion: "stableVersion",
    canaryImage: "canaryImage",
    canaryVersion: "canaryVersion",
} as const;

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
function toConfig(v: ReleaseView): ConfigChanges {
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

/** The typed transitions of a release. Each returns a new view; none changes its input. */
export const transitions = {
    /** The canary runs the new version at weight 0; the stable it replaces is recorded for a rollback. */
    start(v: ReleaseView, release: TrackValues): ReleaseView {
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
            },
        };
    },

    /** The canary moves to a stage's phase and weight. */
    stage(v: ReleaseView, at: StagePosition): ReleaseView {
        return { ...v, canaryWeight: at.weight, state: { ...v.state, phase: at.phase } };
    },

    /**
     * Traffic back on the stable version the release in progress started from (a failed completion may have
     * changed stable); the release is recorded as rolled back.
     */
    rollBack(v: ReleaseView, reason: string): ReleaseView {
        const s = v.state;
        const stable =
            s.status === "in-progress" && s.previousImage !== undefined && s.previousVersion !== undefined
                ? { image: s.previousImage, version: s.previousVersion }
                : v.stable;
        return {
            ...v,
            canaryWeight: 0,
            stable,
            state: { ...s, status: "rolled-back", phase: undefined, message: truncate(reason) },
        };
    },

    /** The canary track runs the stable version again (no release in progress). */
    retireCanary(v: ReleaseView): ReleaseView {
        return { ...v, canary: undefined };
    },

    /** Completion, first update: stable runs the release while the canary still serves its share. */
    promoteStable(v: ReleaseView): ReleaseView {
        const release = v.canary ?? requireRelease(v);
        return { ...v, stable: { ...release }, state: { ...v.state, phase: "complete" } };
    },

    /** Completion, second update: all traffic on stable. */
    routeToStable(v: ReleaseView): ReleaseView {
        return { ...v, canaryWeight: 0 };
    },

    /** Completion, last update: recorded, and the canary track retired. */
    recordCompletion(v: ReleaseView, at: Date): ReleaseView {
        return {
            ...v,
            canary: undefined,
            state: { ...v.state, status: "completed", phase: undefined, message: `completed ${at.toISOString()}` },
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

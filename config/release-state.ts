/**
 * The release protocol: what the release bot records in stack config and the program reads back.
 *
 * A release is one typed value, {@link ReleaseView}: the bot's own state (status, phase, version, the stable it
 * replaces, the owner lease) plus the program keys a release moves (the canary weight, the canary and stable
 * tracks). The bot changes it only through the typed transitions of release-transitions.ts, each allowed from
 * the statuses in TRANSITION_FROM, and writes exactly the keys a transition changed ({@link configChanges}), so
 * `pulumi stack history` shows every step of the protocol.
 *
 *   idle | completed | rolled-back | failed --start--> in-progress --stage--> in-progress
 *   in-progress --awaitApproval--> awaiting-approval --recordDecision--> awaiting-approval --passGate--> in-progress
 *   in-progress --promoteStable, routeToStable--> in-progress (phase complete) --recordCompletion--> completed
 *   in-progress | awaiting-approval | rolling-back --rollBack(reason, cause)--> rolling-back --finishRollback--> rolled-back
 *
 * "rolling-back" is written before the routing update of a rollback, so a bot killed during a rollback resumes
 * the rollback (and a plain `pulumi up` of that config finishes its routing part) with the cause it recorded
 * (`releaseCause`: the exit code a resumed rollback reports comes from it, never from the message's wording). "awaiting-approval" is a
 * manual gate: the release waits, with its traffic where it is, for a person's decision (`releaseApprovals`).
 */
import { CANARY_RELEASE_LIMITS, TrackValues } from "../components/canary-release-args";
import { LABEL_VALUE, PRINTABLE_LINES } from "../components/validation";
import { IMAGE_REF } from "../components/validation";
import { IMAGE, isUtcTime, UTC_TIME, VERSION } from "./grammar";
import { Reader } from "./reader";

/** Lifecycle of a release as the bot records it in stack config. */
export const RELEASE_STATUSES = [
    "idle",
    "in-progress",
    "awaiting-approval",
    "rolling-back",
    "completed",
    "rolled-back",
    "failed",
] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Statuses in which a release is under way (`--resume` continues them; a new release is refused). */
export const ACTIVE_STATUSES: readonly ReleaseStatus[] = ["in-progress", "awaiting-approval", "rolling-back"];

/** The gate a release waits at: before a step's weight ("50"), or before completion. */
export type Gate = string;
export const COMPLETE_GATE = "complete";

/** What a person decided at a gate. */
export const GATE_DECISIONS = ["approve", "abort"] as const;
export type GateDecisionKind = (typeof GATE_DECISIONS)[number];

/** A person's decision at a manual gate, recorded with who and when. */
export interface Approval {
    /** The gate decided: a step weight ("50") or "complete". */
    gate: Gate;
    /** The release's version it was given for. */
    version: string;
    /** The image of the release it was given for (recorded since approvals are bound to it). */
    image?: string;
    decision: GateDecisionKind;
    /** Who decided (a name, such as the CI actor). */
    by: string;
    /** When (UTC, ISO 8601). */
    at: string;
}

/**
 * The approval an environment asks of each version before `promote` releases it there: for one version and one
 * image (the reference the source runs, digest included when pinned), used once. The promotion that uses it records
 * when and from which stack in the same update that starts the release; a used approval approves nothing more.
 */
export interface PromotionApproval {
    version: string;
    /** The image approved (recorded by approvals since they are bound to it; one without it approves nothing). */
    image?: string;
    by: string;
    at: string;
    /** When a promotion used it (UTC, ISO 8601). */
    usedAt?: string;
    /** The source stack of the promotion that used it. */
    usedFrom?: string;
}

/**
 * Why a release was rolled back: the canary failed its checks, a pre-rollout hook failed, the metrics could not be
 * read (query errors, Prometheus down), an update failed, or a person aborted it (`--abort`).
 */
export const ROLLBACK_CAUSES = ["unhealthy", "hook", "metrics", "update-failed", "aborted"] as const;
export type RollbackCause = (typeof ROLLBACK_CAUSES)[number];

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
    /** Why the release was rolled back (status "rolling-back" or "rolled-back"). */
    cause?: RollbackCause;
    /** What stable ran when the release started: a rollback puts it back. */
    previousImage?: string;
    previousVersion?: string;
    /** The bot that holds the release (its lease id), while one does. */
    owner?: string;
    /** When the owner's lease runs out (ISO 8601), unless it renews it. */
    leaseExpires?: string;
    /** The gate the release waits at (status "awaiting-approval"). */
    gate?: Gate;
    /** The decisions taken at this release's gates, oldest first. */
    approvals?: Approval[];
    /** The approval of a version for promotion to this stack (kept across releases). */
    promotionApproval?: PromotionApproval;
    /** Failed analyses of the release so far, over every stage (the failure threshold counts them). */
    failedAnalyses?: number;
    /**
     * With autoscaling: the stable's replica count (what its HPA chose) as the bot read it for its last update while
     * a canary ran; the canary HPA's minimum is the weight's share of it. Pinned in config so that an update's
     * preview, its plan and the update agree.
     */
    stableReplicas?: number;
}

/** The config key of each state field: declared here once, read by {@link readState}, written by the bot. */
export const STATE_KEYS = {
    status: "releaseStatus",
    version: "releaseVersion",
    image: "releaseImage",
    phase: "releasePhase",
    message: "releaseMessage",
    cause: "releaseCause",
    previousImage: "releasePreviousImage",
    previousVersion: "releasePreviousVersion",
    owner: "releaseOwner",
    leaseExpires: "releaseLeaseExpires",
    gate: "releaseGate",
    approvals: "releaseApprovals",
    promotionApproval: "promotionApproval",
    failedAnalyses: "releaseFailedAnalyses",
    stableReplicas: "releaseStableReplicas",
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

/** The longest releaseMessage the bot writes (config/release-transitions.ts's storedMessage). */
export const MAX_MESSAGE_LENGTH = 300;

/** What releaseMessage holds: one line (older bots wrote line breaks too) of at most 300 characters. */
const MESSAGE = {
    accepts: `a text of at most ${MAX_MESSAGE_LENGTH} characters without control characters (but tab and line breaks)`,
    pattern: new RegExp(`^[\\s\\S]{1,${MAX_MESSAGE_LENGTH}}$`),
    valid: (v: string) => PRINTABLE_LINES.test(v),
};

const LEASE_ID = /^[A-Za-z0-9][-A-Za-z0-9_.:@]{0,127}$/;
/** Who approves: a name, never a secret (letters, digits and -_.@+ and spaces, at most 64). */
export const APPROVER = /^[A-Za-z0-9][-A-Za-z0-9_.@+ ]{0,63}$/;
export const APPROVER_ACCEPTS = "a name (letters, digits and -_.@+ and spaces, at most 64)";
/** A stack's name: "dev", or "org/project/dev" (Pulumi's fully qualified name). */
export const STACK_NAME_PATTERN = /^([A-Za-z0-9_.-]{1,100}\/){0,2}[A-Za-z0-9_.-]{1,100}$/;
/** The highest releaseFailureThreshold: a release counts at most this many failed analyses. */
export const MAX_FAILURE_THRESHOLD = 100;
/** A gate as stored: a step weight or "complete". */
export const GATE_PATTERN = /^(complete|[1-9]\d?|100)$/;

const str = (x: unknown, re: RegExp) => typeof x === "string" && re.test(x);
const fields = (x: unknown, keys: string[]): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x) && Object.keys(x).every((k) => keys.includes(k));

const isImage = (x: unknown) => x === undefined || str(x, IMAGE_REF);
const isTime = (x: unknown) => typeof x === "string" && isUtcTime(x);

function isApproval(x: unknown): x is Approval {
    return (
        fields(x, ["gate", "version", "image", "decision", "by", "at"]) &&
        str(x.gate, GATE_PATTERN) &&
        str(x.version, LABEL_VALUE) &&
        isImage(x.image) &&
        (GATE_DECISIONS as readonly unknown[]).includes(x.decision) &&
        str(x.by, APPROVER) &&
        typeof x.at === "string" &&
        isUtcTime(x.at)
    );
}

const isApprovalList = (x: unknown): x is Approval[] => Array.isArray(x) && x.every(isApproval);

function isPromotionApproval(x: unknown): x is PromotionApproval {
    return (
        fields(x, ["version", "image", "by", "at", "usedAt", "usedFrom"]) &&
        str(x.version, LABEL_VALUE) &&
        isImage(x.image) &&
        str(x.by, APPROVER) &&
        isTime(x.at) &&
        (x.usedAt === undefined || isTime(x.usedAt)) &&
        (x.usedFrom === undefined || str(x.usedFrom, STACK_NAME_PATTERN))
    );
}

/** `{ [key]: value }`, or nothing when the value is undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
    return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Reads the release state's keys (group "Release state"). */
export function readState(r: Reader): ReleaseState {
    r.group = "Release state (written by the release bot)";
    const K = STATE_KEYS;
    return {
        status:
            r.oneOf(K.status, { doc: "Where the last release stands.", values: RELEASE_STATUSES, def: "idle" }) ??
            "idle",
        version: r.string(K.version, { ...VERSION, doc: "Version of the release in progress or last released." }),
        image: r.string(K.image, { ...IMAGE, doc: "Image of the release in progress or last released." }),
        phase: r.oneOf(K.phase, { doc: "Phase of the release in progress.", values: RELEASE_PHASES }),
        message: r.string(K.message, { ...MESSAGE, doc: "Why the last release ended as it did." }),
        // Only when recorded: a state without a rollback has no cause field at all (the program exports the state).
        ...optional(
            "cause",
            r.oneOf(K.cause, {
                doc: "Why the last release was rolled back; a resumed rollback reports it (and its exit code).",
                values: ROLLBACK_CAUSES,
            }),
        ),
        previousImage: r.string(K.previousImage, {
            ...IMAGE,
            doc: "Stable image when the release started (rollback target).",
        }),
        previousVersion: r.string(K.previousVersion, {
            ...VERSION,
            doc: "Stable version when the release started (rollback target).",
        }),
        owner: r.string(K.owner, {
            doc: "Lease id of the release bot running the release (host:pid:nonce).",
            accepts: "a lease id (letters, digits and -_.:@, at most 128)",
            pattern: LEASE_ID,
        }),
        leaseExpires: r.string(K.leaseExpires, {
            ...UTC_TIME,
            doc: "When the owner's lease expires unless renewed (UTC, ISO 8601).",
        }),
        gate: r.string(K.gate, {
            doc: 'The manual gate the release waits at: a step weight or "complete".',
            accepts: 'a step weight or "complete"',
            pattern: GATE_PATTERN,
        }),
        approvals: r.json(K.approvals, {
            doc: 'Decisions at this release\'s gates: JSON [{"gate","version","image","decision","by","at"}].',
            accepts:
                'a JSON array of {"gate", "version", "image" (optional), "decision" (approve or abort), "by", "at"}',
            valid: isApprovalList,
        }),
        promotionApproval: r.json(K.promotionApproval, {
            doc:
                'Approval of a version and image for promotion to this stack, used once: JSON {"version","image","by",' +
                '"at"}, with "usedAt","usedFrom" once a promotion used it (`promote --approve`).',
            accepts:
                'a JSON object {"version", "image", "by", "at"} with optional "usedAt" (UTC time) and "usedFrom" (a stack name)',
            valid: isPromotionApproval,
        }),
        failedAnalyses: r.optionalInt(K.failedAnalyses, {
            doc: "Failed analyses of the release in progress, over every stage: a resumed release keeps counting.",
            limits: { min: 1, max: MAX_FAILURE_THRESHOLD },
        }),
        stableReplicas: r.optionalInt(K.stableReplicas, {
            doc: "With autoscaling: the stable's replicas (its HPA's choice) as the bot read them for its last update of the release; the canary HPA's minimum is the weight's share of them. Unset: the program reads them from the live Deployment.",
            limits: CANARY_RELEASE_LIMITS.autoscalingStableReplicas,
            field: "release.autoscaling.stableReplicas",
        }),
    };
}

/**
 * The cause a rollback recorded; one recorded without it (by hand, or by a bot from before `releaseCause`) counts as
 * a failed update.
 */
export function recordedCause(state: ReleaseState): RollbackCause {
    return state.cause ?? "update-failed";
}

/** The release state in raw config values (lenient: a malformed key reads as unset). */
export function stateIn(values: Record<string, string>): ReleaseState {
    return readState(new Reader(values));
}

/**
 * The mirror percentage the program routes with: during the bot's mirror phase, the policy's
 * `releaseMirrorPercent`; otherwise the user's own `mirrorPercent` (which the bot never touches).
 */
export function routedMirrorPercent(state: ReleaseState, policyMirror: number, userMirror: number): number {
    const releasing = state.status === "in-progress" || state.status === "awaiting-approval";
    return releasing && state.phase === "mirror" ? policyMirror : userMirror;
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
    return { ...out, ...stateConfig(v.state) };
}

/** The config of a release state, every state key present (undefined where unset). */
function stateConfig(s: ReleaseState): ConfigChanges {
    const out: ConfigChanges = {};
    for (const [field, key] of Object.entries(STATE_KEYS)) {
        const value = s[field as keyof ReleaseState];
        out[key] = typeof value === "object" ? JSON.stringify(value) : value === undefined ? undefined : String(value);
    }
    return out;
}

/** The keys of config `to` whose values differ from config `from`, with their values in `to`. */
function changed(from: ConfigChanges, to: ConfigChanges): ConfigChanges {
    return Object.fromEntries(Object.entries(to).filter(([k, v]) => from[k] !== v));
}

/** The keys that differ between `from` and `to`, with their values in `to`. */
export function configChanges(from: ReleaseView, to: ReleaseView): ConfigChanges {
    return changed(toConfig(from), toConfig(to));
}

/** The state keys that differ between two release states (a change that moves nothing), with their values in `to`. */
export function stateChanges(from: ReleaseState, to: ReleaseState): ConfigChanges {
    return changed(stateConfig(from), stateConfig(to));
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

/** True when `lease` is held at `now` (not expired). */
export function leaseHeld(lease: Lease | undefined, now: Date): lease is Lease {
    return lease !== undefined && Date.parse(lease.expires) > now.getTime();
}

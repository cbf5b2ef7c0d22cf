/** How a release ends: its outcome, its story (events) and the exit code a command-line tool reports. */
import { Approval, PromotionApproval, ReleasePhase, RollbackCause } from "../../config/release-state";
import { ReleasePolicy } from "../../config/policy";
import { Analysis } from "./analysis";
import { originOf } from "../../components/redact";
import { HookCall } from "./hooks";
import { LoadStats } from "./load";

/** How a release ended. */
export type Outcome =
    | "completed"
    | "rolled-back"
    | "rollback-failed"
    | "paused"
    | "awaiting-approval"
    | "decision-recorded"
    | "interrupted"
    | "no-op";

export { type RollbackCause } from "../../config/release-state";

/** One entry of the release's story. */
export interface ReleaseEvent {
    time: string;
    kind: "start" | "shift" | "analysis" | "gate" | "hook" | "rollback" | "complete" | "error" | "resume" | "stop";
    phase?: ReleasePhase;
    weight: number;
    message: string;
    verdict?: Analysis["verdict"];
    checks?: Analysis["checks"];
    durationMs?: number;
    changes?: Record<string, number>;
    /** Analyses with built-in load: what the load of the window did. */
    load?: LoadStats;
}

/**
 * The policy as reported: without its secrets; hooks by name, type and origin only, Prometheus and the load by
 * their origin only (a URL's path or query may hold a token).
 */
export type PublicPolicy = Omit<ReleasePolicy, "prometheusPassword" | "prometheusToken" | "hookSecret" | "hooks"> & {
    hooks: { name: string; type: string; target: string }[];
};

/** The policy as reported. */
export function publicPolicy(policy: ReleasePolicy): PublicPolicy {
    const { prometheusPassword: _p, prometheusToken: _t, hookSecret: _s, hooks, ...rest } = policy;
    return {
        ...rest,
        ...(rest.prometheusUrl !== undefined ? { prometheusUrl: originOf(rest.prometheusUrl) } : {}),
        ...(rest.loadUrl !== undefined ? { loadUrl: originOf(rest.loadUrl) } : {}),
        hooks: hooks.map((h) => ({ name: h.name, type: h.type, target: originOf(h.url) })),
    };
}

/** A promotion's audit trail: what went where, when and why (in the target release's report). */
export interface PromotionAudit {
    from: string;
    to: string;
    version: string;
    image: string;
    /** When the promotion was decided (UTC, ISO 8601). */
    decidedAt: string;
    /** The release on the source: when it completed, the decisions at its gates, and its report when found. */
    source: { completedAt?: string; gateDecisions: Approval[]; report?: string };
    /** The target's soak time, and how long the version had run as stable on the source. */
    soak?: { required: string; ran: string };
    /** The target's approval of the version. */
    approval?: PromotionApproval;
}

/** The result: also what the report is written from. */
export interface ReleaseResult {
    stack: string;
    image: string;
    version: string;
    outcome: Outcome;
    /** Why: for a rollback, the check or error that caused it. */
    reason: string;
    /** Rolled back: why. */
    cause?: RollbackCause;
    /** Paused or interrupted: whether the canary was receiving traffic when the bot stopped. */
    trafficMoved?: boolean;
    startedAt: string;
    finishedAt: string;
    policy: PublicPolicy;
    events: ReleaseEvent[];
    /** Exact commands to finish by hand, when the bot could not (rollback failed, stack locked). */
    manualSteps?: string[];
    /** A dry run: every step was previewed, nothing changed. */
    dryRun?: boolean;
    /** Every webhook call: hook, type, attempts, last status. */
    hooks?: HookCall[];
    /** The decisions taken at the release's gates (who, when). */
    approvals?: Approval[];
    /** A promotion's release: its audit trail. */
    promotion?: PromotionAudit;
}

/** What every result of one release says first: which release, on which stack, since when, under which policy. */
export type ResultBase = Pick<ReleaseResult, "stack" | "image" | "version" | "startedAt" | "policy">;

/** How a release ended: its outcome and why, when, its story, the decisions at its gates. */
export type ResultEnd = Pick<ReleaseResult, "outcome" | "reason" | "finishedAt" | "events" | "approvals">;

/** The result of a release: the one place a {@link ReleaseResult} is put together (`extra` adds what an end has). */
export function resultOf(base: ResultBase, end: ResultEnd, extra: Partial<ReleaseResult> = {}): ReleaseResult {
    const { approvals, ...ended } = end;
    return {
        stack: base.stack,
        image: base.image,
        version: base.version,
        outcome: ended.outcome,
        reason: ended.reason,
        startedAt: base.startedAt,
        finishedAt: ended.finishedAt,
        policy: base.policy,
        events: ended.events,
        ...(approvals ? { approvals } : {}),
        ...extra,
    };
}

/**
 * Every exit code of the command-line tools, with what it means: the one source of the codes, of `exitCode` and
 * of the tools' help.
 */
export const EXIT_CODE_TABLE = [
    { name: "completed", code: 0, help: "completed, a gate decision recorded for a waiting bot, or nothing to do" },
    { name: "unhealthy", code: 1, help: "rolled back: the canary failed its checks (or a pre-rollout hook)" },
    { name: "usage", code: 2, help: "usage error or refused before anything changed" },
    { name: "rollback-failed", code: 3, help: "rollback failed: finish it by hand with the printed commands" },
    { name: "paused-before-traffic", code: 4, help: "paused before any traffic reached the canary; --resume" },
    { name: "crash", code: 5, help: "the tool itself failed (see the error and `pulumi stack history`)" },
    { name: "metrics-unusable", code: 6, help: "rolled back: the metrics could not be read (query errors)" },
    { name: "update-failed", code: 7, help: "rolled back: an update of the stack failed" },
    { name: "interrupted", code: 8, help: "interrupted (SIGTERM/SIGINT): the release is left resumable" },
    { name: "paused-after-traffic", code: 9, help: "paused while the canary has traffic: --resume, or roll back" },
    { name: "awaiting-approval", code: 10, help: "paused at a manual gate: --approve continues, --abort rolls back" },
    { name: "aborted", code: 11, help: "rolled back on request (--abort)" },
] as const;

export type ExitName = (typeof EXIT_CODE_TABLE)[number]["name"];

/** Exit codes by name. */
export const EXIT_CODES = Object.fromEntries(EXIT_CODE_TABLE.map((e) => [e.name, e.code])) as {
    [N in ExitName]: Extract<(typeof EXIT_CODE_TABLE)[number], { name: N }>["code"];
};

/** "Exit codes: 0 completed, ..." for the tools' help, wrapped at `width`. */
export function exitCodeHelp(width = 110): string {
    const words = [
        "Exit",
        "codes:",
        ...EXIT_CODE_TABLE.map((e) => `${e.code} ${e.help};`)
            .join(" ")
            .split(" "),
    ];
    const lines: string[] = [];
    let line = "";
    for (const w of words) {
        if (line !== "" && line.length + 1 + w.length > width) {
            lines.push(line);
            line = w;
        } else {
            line = line === "" ? w : `${line} ${w}`;
        }
    }
    lines.push(line.replace(/;$/, "."));
    return lines.join("\n");
}

/** The exit code of a release's result. */
export function exitCode(r: Pick<ReleaseResult, "outcome" | "cause" | "trafficMoved">): number {
    switch (r.outcome) {
        case "completed":
        case "no-op":
        case "decision-recorded":
            return EXIT_CODES.completed;
        case "rolled-back":
            return r.cause === "metrics"
                ? EXIT_CODES["metrics-unusable"]
                : r.cause === "update-failed"
                  ? EXIT_CODES["update-failed"]
                  : r.cause === "aborted"
                    ? EXIT_CODES.aborted
                    : EXIT_CODES.unhealthy;
        case "awaiting-approval":
            return EXIT_CODES["awaiting-approval"];
        case "rollback-failed":
            return EXIT_CODES["rollback-failed"];
        case "paused":
            return r.trafficMoved ? EXIT_CODES["paused-after-traffic"] : EXIT_CODES["paused-before-traffic"];
        case "interrupted":
            return EXIT_CODES.interrupted;
    }
}

/** A problem found before anything changed (bad options, release in progress, Prometheus down). */
export class PreflightError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PreflightError";
    }
}

/** How a release ends: its outcome, its story (events) and the exit code a command-line tool reports. */
import { ReleasePhase } from "../../config/release-state";
import { ReleasePolicy } from "../../config/policy";
import { Analysis } from "./analysis";

/** How a release ended. */
export type Outcome = "completed" | "rolled-back" | "rollback-failed" | "paused" | "no-op";

/** One entry of the release's story. */
export interface ReleaseEvent {
    time: string;
    kind: "start" | "shift" | "analysis" | "rollback" | "complete" | "error" | "resume";
    phase?: ReleasePhase;
    weight: number;
    message: string;
    verdict?: Analysis["verdict"];
    checks?: Analysis["checks"];
    durationMs?: number;
    changes?: Record<string, number>;
}

/** The policy as reported: without its secrets. */
export type PublicPolicy = Omit<ReleasePolicy, "prometheusPassword" | "prometheusToken">;

/** The result: also what the report is written from. */
export interface ReleaseResult {
    stack: string;
    image: string;
    version: string;
    outcome: Outcome;
    reason: string;
    startedAt: string;
    finishedAt: string;
    policy: PublicPolicy;
    events: ReleaseEvent[];
    /** Exact commands to finish by hand, when the bot could not (rollback failed, stack locked). */
    manualSteps?: string[];
    /** A dry run: every step was previewed, nothing changed. */
    dryRun?: boolean;
}

/** Exit codes of the command-line tools. */
export const EXIT_CODES = {
    completed: 0,
    "no-op": 0,
    "rolled-back": 1,
    /** A usage or preflight error: nothing changed. */
    usage: 2,
    "rollback-failed": 3,
    paused: 4,
    /** The tool itself failed unexpectedly. */
    crash: 5,
} as const;

/**
 * Exit code for an outcome: 0 completed or nothing to do, 1 rolled back, 3 rollback failed, 4 paused.
 * (2 is a usage or preflight error and 5 a crash; see the command-line tools.)
 */
export function exitCode(outcome: Outcome): number {
    return EXIT_CODES[outcome];
}

/** A problem found before anything changed (bad options, release in progress, Prometheus down). */
export class PreflightError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PreflightError";
    }
}

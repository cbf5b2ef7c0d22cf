/**
 * Promotion in waves: `promote --from staging --to prod-east,prod-west` promotes one stack at a time (a stack per
 * cluster), each wave from the one before it: prod-east from staging, then prod-west from prod-east. So each wave
 * is decided by the promotion rules and gates (promote.ts) on what the wave before it completed, with the
 * target's own release policy; a wave after the first waits out its soak time (promotionSoakTime, counted from
 * the completion of the wave before) instead of refusing. A wave that does not complete (refused, rolled back,
 * paused, waiting at a gate, interrupted) stops the waves after it; the earlier waves stay as they are, and the
 * result says how to roll each of them back. One result covers every wave (its report: writeWavesReport).
 */
import { StackDriver } from "../automation/driver";
import { Clock, systemClock } from "../release/clock";
import { ReleaseDeps } from "../release/context";
import { Outcome, ReleaseResult } from "../release/result";
import { promote, PromoteOptions, PromotionDecision, StateReader } from "./promote";
import { humanDuration } from "./promotion-gates";

/** How a wave ended. */
export type WaveStatus = "completed" | "no-op" | "refused" | "stopped" | "not started";

export interface WaveResult {
    /** The target stack of this wave. */
    to: string;
    /** Where it was promoted from: --from for the first wave, the wave before for the others. */
    from: string;
    status: WaveStatus;
    /** Why it ended so, in one line. */
    reason: string;
    decision?: PromotionDecision;
    /** The wave's release, when one ran. */
    release?: ReleaseResult;
    /** What the target ran before its wave: what a rollback of a completed wave goes back to. */
    before?: { image: string; version: string };
    /** How long the wave waited for its soak time. */
    soakWaitedMs?: number;
}

export interface WavesResult {
    from: string;
    /** The version promoted (decided by the first wave; every wave promotes the same). */
    version?: string;
    image?: string;
    /** "completed": every wave completed or already ran the version. */
    outcome: "completed" | "stopped";
    waves: WaveResult[];
    /** The wave that stopped the waves, when one did. */
    stoppedAt?: string;
    /** For each wave that completed before the stop: the command that rolls it back to what it ran before. */
    rollbackCommands: string[];
    startedAt: string;
    finishedAt: string;
    dryRun?: boolean;
}

/** One wave's target, opened when its turn comes and disposed after it. */
export interface WaveTarget extends Omit<ReleaseDeps, "stack"> {
    target: StackDriver;
    dispose?: () => void;
}

export interface WavesOptions extends Omit<PromoteOptions, "to" | "sourceReport"> {
    /** The target stacks, in order (at least one). */
    to: string[];
    /** The source release's report of each wave's source, when the caller finds it. */
    sourceReport?: (from: string, version: string) => string | undefined;
    /** The longest soak a wave waits out before it refuses instead. Defaults to 24 hours. */
    maxSoakWaitMs?: number;
}

export interface WavesDeps {
    readState: StateReader;
    /** Opens a wave's target stack, with the cluster it runs on (its own lease, workloads and routes). */
    openTarget: (to: string) => Promise<WaveTarget>;
    clock?: Clock;
    signal?: AbortSignal;
    log?: (line: string) => void;
}

const DAY_MS = 24 * 3600 * 1000;

/** The command that rolls a completed wave back to what its stack ran before. */
export function waveRollbackCommand(to: string, before: { image: string; version: string }): string {
    return `npm run release -- --stack ${to} --image ${before.image} --version ${before.version}`;
}

/** A wave's status from its promotion's result. */
function waveStatus(decision: PromotionDecision, release?: ReleaseResult): { status: WaveStatus; reason: string } {
    if (decision.action === "refuse") {
        return { status: "refused", reason: decision.reason };
    }
    if (decision.action === "no-op") {
        return { status: "no-op", reason: decision.reason };
    }
    const outcome: Outcome | undefined = release?.outcome;
    if (outcome === "completed") {
        return { status: "completed", reason: release?.reason ?? "completed" };
    }
    return { status: "stopped", reason: `${outcome ?? "no release"}: ${release?.reason ?? ""}` };
}

/** Promotes `opts.from` to each of `opts.to` in turn; see the file's comment. */
export async function promoteWaves(opts: WavesOptions, deps: WavesDeps): Promise<WavesResult> {
    const clock = deps.clock ?? systemClock;
    const log = deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const maxWait = opts.maxSoakWaitMs ?? DAY_MS;
    const startedAt = clock.now().toISOString();
    const waves: WaveResult[] = [];
    let version = opts.version;
    let image: string | undefined;
    let from = opts.from;
    let stoppedAt: string | undefined;
    for (const [i, to] of opts.to.entries()) {
        if (stoppedAt !== undefined) {
            waves.push({ to, from, status: "not started", reason: `the waves stopped at ${stoppedAt}` });
            from = to;
            continue;
        }
        log(`wave ${i + 1}/${opts.to.length}: ${from} -> ${to}`);
        const before = (await deps.readState(to))?.stable;
        const wave = await deps.openTarget(to);
        let result;
        let waited = 0;
        try {
            const one = () =>
                promote(
                    {
                        ...opts,
                        from,
                        to,
                        version,
                        sourceReport: { report: version && opts.sourceReport?.(from, version) },
                    },
                    { ...wave, readState: deps.readState, clock, signal: deps.signal, log },
                );
            result = await one();
            const left = result.decision.action === "refuse" ? result.decision.soakLeftMs : undefined;
            // A later wave waits out its soak, counted from the wave before: that is what a wave is.
            if (i > 0 && left !== undefined && left <= maxWait && opts.release?.dryRun !== true) {
                log(`wave ${i + 1}: ${to} asks for a soak time; waiting ${humanDuration(left)} before it`);
                await clock.sleep(left, deps.signal);
                waited = left;
                if (deps.signal?.aborted !== true) {
                    result = await one();
                }
            }
        } finally {
            wave.dispose?.();
        }
        const { status, reason } = waveStatus(result.decision, result.release);
        if (result.decision.action === "release") {
            ({ version, image } = result.decision);
        }
        waves.push({
            to,
            from,
            status,
            reason,
            decision: result.decision,
            ...(result.release ? { release: result.release } : {}),
            ...(before ? { before: { image: before.image, version: before.version } } : {}),
            ...(waited > 0 ? { soakWaitedMs: waited } : {}),
        });
        log(`wave ${i + 1}/${opts.to.length} ${to}: ${status}: ${reason}`);
        if (status !== "completed" && status !== "no-op") {
            stoppedAt = to;
        } else if (opts.release?.dryRun === true && i + 1 < opts.to.length) {
            // A dry run changes nothing: the next wave would find no completed release on this one.
            stoppedAt = `${to} (a dry run previews the first wave only)`;
        }
        from = to;
    }
    const rollbackCommands =
        stoppedAt !== undefined && opts.release?.dryRun !== true
            ? waves
                  .filter((w) => w.status === "completed" && w.before !== undefined)
                  .map((w) => waveRollbackCommand(w.to, w.before!))
            : [];
    return {
        from: opts.from,
        ...(version ? { version } : {}),
        ...(image ? { image } : {}),
        outcome: stoppedAt === undefined ? "completed" : "stopped",
        waves,
        ...(stoppedAt ? { stoppedAt } : {}),
        rollbackCommands,
        startedAt,
        finishedAt: clock.now().toISOString(),
        ...(opts.release?.dryRun ? { dryRun: true } : {}),
    };
}

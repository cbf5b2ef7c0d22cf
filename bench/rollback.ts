/**
 * The release bot's rollback, measured through the bot itself: a release whose canary fails its first analysis
 * (a metrics source answering 0 for every query), on the inline stack, with the routing patch or by update.
 * Returns the time from the bot's decision to traffic on stable, and to the rollback recorded in the stack.
 */
import { KubeRouting } from "../stacks/automation/routing-patch";
import { StackDriver } from "../stacks/automation/driver";
import { RollbackMode } from "../config/policy";
import { MetricsSource } from "../stacks/release/prometheus";
import { runRelease } from "../stacks/release/run";

/** Every check sees 0: the success rate fails, so the bot rolls back after its first shift. */
const failing: MetricsSource = {
    query: () => Promise.resolve({ kind: "value", value: 0 }),
    ping: () => Promise.resolve(),
};

export interface RollbackTimes {
    /** Decision -> the live VirtualService at stable 100 / canary 0. */
    toStableMs: number;
    /** Decision -> the routing update recorded in the stack. */
    recordedMs: number;
}

/** One release that rolls back at weight 50; `n` makes each release's version new. */
export async function botRollback(
    stack: StackDriver,
    mode: RollbackMode,
    n: number,
    routing?: KubeRouting,
): Promise<RollbackTimes> {
    const lines: string[] = [];
    const result = await runRelease(
        {
            image: `ghcr.io/stefanprodan/podinfo:6.9.${n}`,
            policy: { rollback: mode, steps: [50, 100], failureThreshold: 1, headerPhase: false, mirrorPercent: 0 },
        },
        {
            stack,
            routing,
            metrics: failing,
            clock: { now: () => new Date(), sleep: () => Promise.resolve() },
            log: (l) => lines.push(l),
        },
    );
    if (result.outcome !== "rolled-back") {
        throw new Error(`expected a rollback, got ${result.outcome}: ${result.reason}\n${lines.join("\n")}`);
    }
    const rollbacks = result.events.filter((e) => e.kind === "rollback" && e.durationMs !== undefined);
    const stable = rollbacks.find((e) => /time to stable/.test(e.message));
    const recorded = mode === "fast" ? rollbacks.find((e) => /recorded in the stack/.test(e.message)) : stable;
    if (!stable || !recorded || (mode === "fast" && !/direct patch of/.test(stable.message))) {
        throw new Error(`the ${mode} rollback did not go as planned:\n${lines.join("\n")}`);
    }
    return { toStableMs: stable.durationMs!, recordedMs: recorded.durationMs! };
}

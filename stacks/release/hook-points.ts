/**
 * Where the release calls its webhooks (Flagger's hook points):
 * - pre-rollout: the canary is deployed, no user traffic yet; a failure rolls back (nothing moved);
 * - rollout: at each analysis; a failure is a failed check of that analysis;
 * - confirm-promotion: before completion, asked (with backoff) until it answers 2xx, up to releaseHookConfirmLimit;
 *   past it the release pauses, resumable;
 * - post-rollout (after completion) and rollback (after a rollback): told, their answer changes nothing;
 * - event: every event of the story (context.ts queues them).
 */
import { Analysis, CheckResult, verdictOf } from "./analysis";
import { CONTINUE, Next, ReleaseRun } from "./context";
import { describeCall, HookCall } from "./hooks";
import { ReleaseResult } from "./result";

function recordCall(run: ReleaseRun, c: HookCall): void {
    run.record({ kind: "hook", message: `hook ${describeCall(c)}` });
}

/** Before any traffic: every pre-rollout hook must answer 2xx, or the release rolls back. */
export async function preRollout(run: ReleaseRun): Promise<Next> {
    for (const spec of run.hooks.of("pre-rollout")) {
        const c = await run.hooks.call(spec, run.hookBase());
        recordCall(run, c);
        if (!c.ok) {
            if (run.interrupted) {
                return run.stop("interrupted", `interrupted during the pre-rollout hook ${spec.name}`);
            }
            return { kind: "rollback", reason: `pre-rollout hook ${describeCall(c)}`, cause: "hook" };
        }
    }
    return CONTINUE;
}

/** The analysis with a check per rollout hook (`hook:<name>`, its HTTP status as value): a failed call fails it. */
export async function withRolloutHooks(run: ReleaseRun, a: Analysis, held: number): Promise<Analysis> {
    const specs = run.hooks.of("rollout");
    if (specs.length === 0) {
        return a;
    }
    const results: CheckResult[] = [];
    for (const spec of specs) {
        const c = await run.hooks.call(spec, run.hookBase({ checks: a.checks.map((x) => ({ ...x })) }));
        results.push({
            name: `hook:${spec.name}`,
            ...(c.status !== undefined ? { value: c.status } : {}),
            verdict: c.ok ? "pass" : "fail",
            ...(c.ok
                ? {}
                : { reason: `${c.error ?? "failed"}${c.attempts > 1 ? ` after ${c.attempts} attempts` : ""}` }),
        });
    }
    const checks = [...a.checks, ...results];
    const verdict = a.verdict === "error" ? "error" : verdictOf(checks, run.policy.noData, held, run.policy.holdLimit);
    return { checks, verdict };
}

/** Before completion: each confirm-promotion hook is asked until it answers 2xx, up to the limit; else a pause. */
export async function confirmPromotion(run: ReleaseRun): Promise<Next> {
    const limit = run.prepared.times.hookConfirmLimitMs;
    for (const spec of run.hooks.of("confirm-promotion")) {
        const until = run.clock.now().getTime() + limit;
        const c = await run.hooks.call(spec, run.hookBase(), { until, pause: (ms) => run.wait(ms) });
        recordCall(run, c);
        if (c.ok) {
            continue;
        }
        if (run.interrupted) {
            return run.stop("interrupted", `interrupted while asking the confirm-promotion hook ${spec.name}`);
        }
        return run.stop(
            "paused",
            `confirm-promotion hook ${describeCall(c)}; no 2xx within releaseHookConfirmLimit ` +
                `${run.policy.hookConfirmLimit}: not completed. --resume analyses the last step again and asks again`,
        );
    }
    return CONTINUE;
}

/** After the release: post-rollout hooks on completion, rollback hooks after a rollback (told, never asked). */
export async function afterRelease(run: ReleaseRun, r: ReleaseResult): Promise<void> {
    const rolledBack = r.outcome === "rolled-back" || r.outcome === "rollback-failed";
    const type = r.outcome === "completed" ? "post-rollout" : rolledBack ? "rollback" : undefined;
    if (type === undefined) {
        return;
    }
    for (const c of await run.hooks.callAll(type, run.hookBase({ outcome: { name: r.outcome, reason: r.reason } }))) {
        recordCall(run, c);
    }
}

/**
 * The release bot: steps a canary through its weights, judges it on Prometheus metrics, rolls back or completes.
 *
 * preflight (lease, deployed state, checks) -> start (or resume) -> each stage (checks, previewed shift, then
 * analyses) -> complete | rollback. Every state change is a stack config change followed by `pulumi up`, so
 * `pulumi stack history` tells the story and a killed bot resumes from the deployed state. Time and the stack
 * are injected: unit tests run the whole state machine with a fake clock and an in-memory stack.
 */
import { transitions } from "../../config/release-state";
import { complete } from "./complete";
import { Next, ReleaseDeps, ReleaseOptions, ReleaseRun } from "./context";
import { planStages, resumeStages } from "./plan";
import { preflight } from "./preflight";
import { ReleaseResult, RollbackCause } from "./result";
import { rollback } from "./rollback";
import { runStage, start } from "./stage";

/** Why a recorded rollback happened, from its message (a resumed rollback reports the original cause). */
export function causeOf(message: string | undefined): RollbackCause {
    if (message !== undefined && /could not query the metrics/.test(message)) {
        return "metrics";
    }
    return message !== undefined && /failed analyses/.test(message) ? "unhealthy" : "update-failed";
}

/** Runs a release to its end. Throws {@link PreflightError} (nothing changed) or returns the result. */
export async function runRelease(opts: ReleaseOptions, deps: ReleaseDeps): Promise<ReleaseResult> {
    const run = new ReleaseRun(opts, deps, await preflight(opts, deps));
    const state = run.view.state;
    if (opts.resume && state.status === "rolling-back") {
        run.record({
            kind: "resume",
            message: `resuming the rollback of ${run.prepared.version}: ${state.message ?? ""}`,
        });
        return rollback(run, state.message ?? "rollback resumed", causeOf(state.message));
    }
    if (opts.resume && (state.status === "completed" || state.status === "rolled-back")) {
        return applyRecorded(run);
    }
    const planned = planStages(run.policy);
    const stages = opts.resume ? resumeStages(planned, run.phase ?? "steps", run.view.canaryWeight) : planned;
    let next: Next = await start(run);
    for (const [i, stage] of stages.entries()) {
        if (next.next !== "continue") {
            break;
        }
        next = await runStage(run, stage, i === 0);
    }
    if (next.next === "continue") {
        next = await complete(run);
    }
    if (next.next === "rollback") {
        return rollback(run, next.reason, next.cause);
    }
    if (next.next === "finish") {
        return next.result;
    }
    throw new Error("unreachable: a release ends in a result or a rollback");
}

/** Resuming a final write (completed, rolled back) that a killed bot never deployed: deploy it. */
async function applyRecorded(run: ReleaseRun): Promise<ReleaseResult> {
    const { status, message } = run.view.state;
    run.record({ kind: "resume", message: `applying the recorded ${status} of ${run.prepared.version}` });
    try {
        await run.transition(transitions.release(run.view), `resume: ${status}`);
    } catch (e) {
        const next = await run.onTransitionError(e, `while applying the recorded ${status}`);
        return next.next === "finish"
            ? next.result
            : run.finish("paused", next.next === "rollback" ? next.reason : "stopped", {
                  trafficMoved: run.trafficMoved,
              });
    }
    return status === "completed"
        ? run.finish("completed", message ?? "completed")
        : run.finish("rolled-back", message ?? "rolled back", { cause: causeOf(message) });
}

/**
 * The release bot: steps a canary through its weights, judges it on Prometheus metrics, rolls back or completes.
 *
 * preflight -> start (or resume) -> each stage (shift, then analyses) -> complete | rollback. Every state change
 * is a stack config change followed by `pulumi up`, so `pulumi stack history` tells the story and a crashed bot
 * resumes from the stack config. Time and the stack are injected: unit tests run the whole state machine with a
 * fake clock and an in-memory stack.
 */
import { complete } from "./complete";
import { Next, ReleaseDeps, ReleaseOptions, ReleaseRun } from "./context";
import { planStages, resumeStages } from "./plan";
import { preflight } from "./preflight";
import { ReleaseResult } from "./result";
import { rollback } from "./rollback";
import { runStage, start } from "./stage";

/** Runs a release to its end. Throws {@link PreflightError} (nothing changed) or returns the result. */
export async function runRelease(opts: ReleaseOptions, deps: ReleaseDeps): Promise<ReleaseResult> {
    const run = new ReleaseRun(opts, deps, await preflight(opts, deps));
    const planned = planStages(run.policy);
    const stages = opts.resume ? resumeStages(planned, run.phase ?? "steps", run.weight) : planned;
    let next: Next = await start(run);
    for (const stage of stages) {
        if (next.next !== "continue") {
            break;
        }
        next = await runStage(run, stage);
    }
    if (next.next === "continue") {
        next = await complete(run);
    }
    if (next.next === "rollback") {
        return rollback(run, next.reason);
    }
    if (next.next === "finish") {
        return next.result;
    }
    throw new Error("unreachable: a release ends in a result or a rollback");
}

/**
 * Rollback: traffic off the canary first (with `releaseRollback: fast`, a direct patch of the live routes, see
 * fast-rollback.ts), recorded as "rolling-back" by a targeted update of the routes, then the canary
 * back on the stable version and the rollback recorded (a full update). A bot killed in between resumes the
 * rollback; a plain `pulumi up` of the "rolling-back" config moves traffic too.
 */
import { transitions } from "../../config/release-transitions";
import { StackLockedError } from "../automation/driver";
import { firstLine } from "../automation/driver";
import { ReleaseRun } from "./context";
import { fastRouteOff, handBackRoutes, seconds } from "./fast-rollback";
import { LeaseLostError } from "./lease";
import { ReleaseView, RollbackCause } from "../../config/release-state";
import { ReleaseResult } from "./result";
import { routesNamed, rollbackSteps } from "./wording";

/** The release with the failed analyses the run counted (the one at the threshold is recorded with the rollback). */
function withFailures(run: ReleaseRun): ReleaseView {
    const v = run.view;
    const recorded = v.state.failedAnalyses ?? 0;
    return v.state.status === "in-progress" && run.failures > recorded ? transitions.countFailure(v, run.failures) : v;
}

/** Rolls back and returns the result: "rolled-back", or "rollback-failed" with the commands to finish by hand. */
export async function rollback(run: ReleaseRun, reason: string, cause: RollbackCause): Promise<ReleaseResult> {
    const t0 = Date.now();
    const stack = run.stack;
    run.record({ kind: "rollback", message: `rolling back: ${reason}` });
    const fast = await fastRouteOff(run, t0);
    const patched = fast?.all === true;
    const urns =
        (run.opts.targetedRollback ?? true) ? (await stack.routingUrns().catch(() => undefined))?.routes : undefined;
    try {
        const to =
            run.view.state.status === "rolling-back" && run.view.canaryWeight === 0
                ? run.view // resumed: the rollback is already recorded; apply it
                : transitions.rollBack(withFailures(run), reason, cause);
        const s = await run.transition(to, "rollback (routing)", {
            targets: urns,
            restoreOnLock: false,
        });
        const how = urns ? `targeted update of the ${routesNamed(urns)}` : "full update";
        const ms = Date.now() - t0;
        run.record({
            kind: "rollback",
            message: patched
                ? `routing recorded in the stack (${how}) ${seconds(ms)} after the decision`
                : `traffic back on stable ${seconds(ms)} after the decision (time to stable; ${how})`,
            durationMs: ms,
            changes: s.resourceChanges,
        });
        if (fast !== undefined && fast.patched.length > 0) {
            await handBackRoutes(run, fast.patched);
        }
    } catch (e) {
        if (e instanceof LeaseLostError) {
            run.record({ kind: "error", message: e.message });
            return run.finish("paused", `${e.message} (the new owner decides on the rollback: ${reason})`, {
                trafficMoved: run.trafficMoved,
            });
        }
        const steps = rollbackSteps(stack.name, urns, e instanceof StackLockedError);
        run.record({ kind: "error", message: `ROLLBACK FAILED: ${firstLine((e as Error).message)}` });
        run.log(
            patched
                ? "!!! ROLLBACK NOT RECORDED: traffic is on stable (direct patch), but the stack does not say so yet. Finish it by hand:"
                : "!!! ROLLBACK FAILED: traffic may still reach the canary. Finish it by hand:",
        );
        steps.forEach((s) => run.log(`!!!   ${s}`));
        return run.finish("rollback-failed", `rollback failed after: ${reason}`, { manualSteps: steps, cause });
    }
    try {
        const s = await run.transition(transitions.finishRollback(run.view), "rollback (canary to stable)", {
            restoreOnLock: false,
        });
        run.record({
            kind: "rollback",
            message: "canary track back on the stable version; rollback recorded",
            changes: s.resourceChanges,
        });
    } catch (e) {
        // Traffic is already on stable; --resume (or any `pulumi up` after it) finishes the rest.
        run.record({
            kind: "error",
            message: `canary cleanup failed (traffic is on stable; --resume finishes it): ${firstLine((e as Error).message)}`,
        });
        await run.store.letGo().catch(() => undefined);
    }
    return run.finish("rolled-back", reason, { cause });
}

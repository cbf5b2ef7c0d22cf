/**
 * Completion, in three updates so that no pod set ever serves more than it was sized for:
 * 1. stable rolls to the new version while the canary still serves its share (the route does not change);
 * 2. the route moves to stable (a targeted update: stable is ready, the canary keeps its replicas);
 * 3. a full update records the completion and lets the canary track fall back to the stable version.
 * Each is idempotent, so a resumed completion runs all three again.
 */
import { transitions } from "../../config/release-transitions";
import { End, ReleaseRun } from "./context";

export async function complete(run: ReleaseRun): Promise<End> {
    const t0 = Date.now();
    const { version } = run.prepared;
    if (run.interrupted) {
        return run.stop("interrupted", "interrupted before completing (every step passed)");
    }
    try {
        await run.transition(transitions.promoteStable(run.view), "complete: stable runs the new version", {
            guard: "complete",
        });
        run.record({ kind: "complete", message: `stable rolled out ${version}` });
        const urns = await run.stack.routingUrns().catch(() => undefined);
        await run.transition(transitions.routeToStable(run.view), "complete: traffic to stable", {
            targets: urns?.routes,
        });
        run.record({ kind: "complete", message: "traffic on stable" });
        const s = await run.transition(transitions.recordCompletion(run.view, run.clock.now()), "complete: recorded");
        run.record({
            kind: "complete",
            message: `all traffic on stable ${version}; canary weight 0`,
            durationMs: Date.now() - t0,
            changes: s.resourceChanges,
        });
    } catch (e) {
        return run.onTransitionError(e, "while completing");
    }
    return { kind: "finish", result: run.finish("completed", `all steps passed; stable runs ${version}`) };
}

/** Rollback: traffic off the canary first (a targeted update of the VirtualService), then a full update. */
import { transitions } from "../../config/release-state";
import { StackLockedError } from "../automation/driver";
import { firstLine, ReleaseRun } from "./context";
import { ReleaseResult } from "./result";

/** Rolls back and returns the result: "rolled-back", or "rollback-failed" with the commands to finish by hand. */
export async function rollback(run: ReleaseRun, reason: string): Promise<ReleaseResult> {
    const t0 = Date.now();
    const stack = run.stack;
    run.record({ kind: "rollback", message: `rolling back: ${reason}` });
    const urn = (run.opts.targetedRollback ?? true) ? await stack.routingUrn().catch(() => undefined) : undefined;
    try {
        const s = await run.transition(transitions.rollBack(run.view, reason), "rollback (routing)", {
            targets: urn ? [urn] : undefined,
            restoreOnLock: false,
        });
        run.record({
            kind: "rollback",
            message: `traffic back on stable (${urn ? "targeted update of the VirtualService" : "full update"})`,
            durationMs: Date.now() - t0,
            changes: s.resourceChanges,
        });
    } catch (e) {
        const steps = [
            `pulumi config set canaryWeight 0 --stack ${stack.name}`,
            `pulumi config rm releasePhase --stack ${stack.name}`,
            urn ? `pulumi up --stack ${stack.name} --yes --target '${urn}'` : `pulumi up --stack ${stack.name} --yes`,
            `pulumi up --stack ${stack.name} --yes`,
        ];
        if (e instanceof StackLockedError) {
            steps.unshift(
                `wait for the update holding the lock, or release it: pulumi cancel --stack ${stack.name} --yes`,
            );
        }
        run.record({ kind: "error", message: `ROLLBACK FAILED: ${firstLine((e as Error).message)}` });
        const log = run.deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
        log("!!! ROLLBACK FAILED: traffic may still reach the canary. Finish it by hand:");
        steps.forEach((s) => log(`!!!   ${s}`));
        return run.finish("rollback-failed", `rollback failed after: ${reason}`, steps);
    }
    try {
        const s = await run.transition(transitions.retireCanary(run.view), "rollback (canary to stable)", {
            restoreOnLock: false,
        });
        run.record({
            kind: "rollback",
            message: "canary track back on the stable version",
            changes: s.resourceChanges,
        });
    } catch (e) {
        // Traffic is already on stable; the rest converges on the next `pulumi up`.
        run.record({
            kind: "error",
            message: `canary cleanup failed (traffic is on stable; run pulumi up): ${firstLine((e as Error).message)}`,
        });
    }
    return run.finish("rolled-back", reason);
}

/**
 * Rollback: traffic off the canary first (with `releaseRollback: fast`, a direct patch of the live VirtualService,
 * then a targeted update of it that records the same routes; else the targeted update alone), then a full update.
 */
import { CANARY_RELEASE_DEFAULTS } from "../../components/canary-release-args";
import { appNamespace } from "../../components/names";
import { transitions } from "../../config/release-state";
import { StackLockedError } from "../automation/driver";
import { RouteTarget } from "../automation/routing-patch";
import { firstLine, ReleaseRun } from "./context";
import { ReleaseResult } from "./result";

/** Rolls back and returns the result: "rolled-back", or "rollback-failed" with the commands to finish by hand. */
export async function rollback(run: ReleaseRun, reason: string): Promise<ReleaseResult> {
    const t0 = Date.now();
    const stack = run.stack;
    run.record({ kind: "rollback", message: `rolling back: ${reason}` });
    const patched = await fastRouteOff(run, t0);
    const urn = (run.opts.targetedRollback ?? true) ? await stack.routingUrn().catch(() => undefined) : undefined;
    try {
        const s = await run.transition(transitions.rollBack(run.view, reason), "rollback (routing)", {
            targets: urn ? [urn] : undefined,
            restoreOnLock: false,
        });
        const how = urn ? "targeted update of the VirtualService" : "full update";
        const ms = Date.now() - t0;
        run.record({
            kind: "rollback",
            message: patched
                ? `routing recorded in the stack (${how}) ${seconds(ms)} after the decision`
                : `traffic back on stable ${seconds(ms)} after the decision (time to stable; ${how})`,
            durationMs: ms,
            changes: s.resourceChanges,
        });
        if (patched) {
            await releaseRoutes(run, patched);
        }
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
        log(
            patched
                ? "!!! ROLLBACK NOT RECORDED: traffic is on stable (direct patch), but the stack does not say so yet. Finish it by hand:"
                : "!!! ROLLBACK FAILED: traffic may still reach the canary. Finish it by hand:",
        );
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

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(3)} s`;
}

/**
 * The fast path: all of the default route on stable with one direct patch of the live VirtualService, before any
 * `pulumi up`. Returns the VirtualService it patched, or undefined when the bot rolls back by update alone
 * (`releaseRollback: update`, no routing access, a dry run) or the patch failed (said in the story).
 */
async function fastRouteOff(run: ReleaseRun, t0: number): Promise<RouteTarget | undefined> {
    const routing = run.deps.routing;
    if (run.policy.rollback !== "fast" || routing === undefined || run.opts.dryRun) {
        return undefined;
    }
    const { app, namespace, mirrorPercent } = run.prepared.config;
    const target = { name: app, namespace: appNamespace(app, namespace) };
    // After the rollback the program routes the user's own mirror (the bot's mirror phase is over).
    const mirror = mirrorPercent !== undefined ? Number(mirrorPercent) : CANARY_RELEASE_DEFAULTS.mirrorPercent;
    try {
        const r = await routing.routeToStable(target, mirror);
        const ms = Date.now() - t0;
        run.record({
            kind: "rollback",
            message:
                `traffic back on stable ${seconds(ms)} after the decision (time to stable; ` +
                `${r.changed ? "direct patch of" : "already so in"} VirtualService ${target.namespace}/${target.name})`,
            durationMs: ms,
        });
        return target;
    } catch (e) {
        run.record({
            kind: "error",
            message: `direct routing patch failed; rolling back by update instead: ${firstLine((e as Error).message)}`,
        });
        return undefined;
    }
}

/** Once the stack holds the same routes: our field manager lets go of them, so Pulumi alone manages them again. */
async function releaseRoutes(run: ReleaseRun, target: RouteTarget): Promise<void> {
    try {
        await run.deps.routing?.release(target);
    } catch (e) {
        run.record({ kind: "error", message: `routing patch not released: ${firstLine((e as Error).message)}` });
    }
}

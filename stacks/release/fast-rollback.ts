/**
 * The fast rollback (`releaseRollback: fast`): all of the default route on stable with one direct server-side
 * apply of each live route object (the VirtualService, or both Gateway API routes), before any `pulumi up`; then,
 * once the stack records the same routes, our field manager hands them back (stacks/automation/routing-patch.ts).
 */
import { describeTargets, RouteTarget } from "../automation/routing-patch";
import { firstLine } from "../automation/driver";
import { ReleaseRun } from "./context";

export function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(3)} s`;
}

/**
 * The fast path: all of the default route on stable with one direct patch of each live route object, before any
 * `pulumi up` (the external and the mesh route of the Gateway API at once: they move together). Returns the
 * objects it patched, or undefined when the bot rolls back by update alone (`releaseRollback: update`, no routing
 * access, a dry run) or a patch failed (said in the story; the update then moves them all).
 */
export async function fastRouteOff(run: ReleaseRun, t0: number): Promise<RouteTarget[] | undefined> {
    const routing = run.deps.routing;
    if (run.policy.rollback !== "fast" || routing === undefined || run.dryRun) {
        return undefined;
    }
    const { targets, userMirrorPercent } = run.prepared.routes;
    try {
        // After the rollback the program routes the user's own mirror (the bot's mirror phase is over).
        const r = await Promise.all(targets.map((t) => routing.routeToStable(t, userMirrorPercent)));
        const ms = Date.now() - t0;
        run.record({
            kind: "rollback",
            message:
                `traffic back on stable ${seconds(ms)} after the decision (time to stable; ` +
                `${r.some((x) => x.changed) ? "direct patch of" : "already so in"} ${describeTargets(targets)})`,
            durationMs: ms,
        });
        return targets;
    } catch (e) {
        run.record({
            kind: "error",
            message: `direct routing patch failed; rolling back by update instead: ${firstLine((e as Error).message)}`,
        });
        return undefined;
    }
}

/** Once the stack holds the same routes: our field manager hands them back, so Pulumi alone manages them again. */
export async function handBackRoutes(run: ReleaseRun, targets: readonly RouteTarget[]): Promise<void> {
    const routing = run.deps.routing;
    if (routing === undefined) {
        return;
    }
    try {
        await Promise.all(targets.map((t) => routing.handBack(t)));
    } catch (e) {
        run.record({ kind: "error", message: `routing patch not handed back: ${firstLine((e as Error).message)}` });
    }
}

/**
 * Before a release moves traffic: hands back any routes our field manager still claims (a bot killed between its
 * patch and its hand-back), so that no stage's server-side apply conflicts with them.
 */
export async function handBackLeftoverRoutes(run: ReleaseRun): Promise<void> {
    if (run.deps.routing !== undefined && !run.dryRun) {
        await handBackRoutes(run, run.prepared.routes.targets);
    }
}

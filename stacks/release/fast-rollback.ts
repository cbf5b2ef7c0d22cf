/**
 * The fast rollback (`releaseRollback: fast`): all of the default route on stable with one direct server-side
 * apply of the live VirtualService, before any `pulumi up`; then, once the stack records the same routes, our
 * field manager hands them back (stacks/automation/routing-patch.ts).
 */
import { RouteTarget } from "../automation/routing-patch";
import { firstLine } from "../automation/driver";
import { ReleaseRun } from "./context";

export function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(3)} s`;
}

/**
 * The fast path: all of the default route on stable with one direct patch of the live VirtualService, before any
 * `pulumi up`. Returns the VirtualService it patched, or undefined when the bot rolls back by update alone
 * (`releaseRollback: update`, no routing access, a dry run) or the patch failed (said in the story).
 */
export async function fastRouteOff(run: ReleaseRun, t0: number): Promise<RouteTarget | undefined> {
    const routing = run.deps.routing;
    if (run.policy.rollback !== "fast" || routing === undefined || run.dryRun) {
        return undefined;
    }
    const { virtualService: target, userMirrorPercent } = run.prepared.routes;
    try {
        // After the rollback the program routes the user's own mirror (the bot's mirror phase is over).
        const r = await routing.routeToStable(target, userMirrorPercent);
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

/** Once the stack holds the same routes: our field manager hands them back, so Pulumi alone manages them again. */
export async function handBackRoutes(run: ReleaseRun, target: RouteTarget): Promise<void> {
    try {
        await run.deps.routing?.handBack(target);
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
        await handBackRoutes(run, run.prepared.routes.virtualService);
    }
}

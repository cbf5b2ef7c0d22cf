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

/** What the fast path did: every route object on stable, or only some (the update then moves them all). */
export interface RouteOffResult {
    /** True when every route object is on stable: traffic is off the canary before any update. */
    all: boolean;
    /** The objects our field manager patched: handed back once the stack records the same routes. */
    patched: RouteTarget[];
}

/**
 * The fast path: all of the default route on stable with one direct patch of each live route object, before any
 * `pulumi up` (the external and the mesh route of the Gateway API at once: they move together). Undefined when the
 * bot rolls back by update alone (`releaseRollback: update`, no routing access, a dry run); a patch that failed is
 * said in the story, and the update then moves every route.
 */
export async function fastRouteOff(run: ReleaseRun, t0: number): Promise<RouteOffResult | undefined> {
    const routing = run.deps.routing;
    if (run.policy.rollback !== "fast" || routing === undefined || run.dryRun) {
        return undefined;
    }
    const { targets, userMirrorPercent } = run.prepared.routes;
    // After the rollback the program routes the user's own mirror (the bot's mirror phase is over).
    const results = await Promise.allSettled(targets.map((t) => routing.routeToStable(t, userMirrorPercent)));
    const patched = targets.filter((_, i) => results[i].status === "fulfilled");
    const failed = targets.flatMap((t, i) => {
        const r = results[i];
        return r.status === "rejected" ? [`${describeTargets([t])}: ${firstLine((r.reason as Error).message)}`] : [];
    });
    if (failed.length > 0) {
        run.record({
            kind: "error",
            message: `direct routing patch failed; rolling back by update instead: ${failed.join("; ")}`,
        });
        return { all: false, patched };
    }
    const changed = results.some((r) => r.status === "fulfilled" && r.value.changed);
    const ms = Date.now() - t0;
    run.record({
        kind: "rollback",
        message:
            `traffic back on stable ${seconds(ms)} after the decision (time to stable; ` +
            `${changed ? "direct patch of" : "already so in"} ${describeTargets(targets)})`,
        durationMs: ms,
    });
    return { all: true, patched };
}

/** Once the stack holds the same routes: our field manager hands them back, so Pulumi alone manages them again. */
export async function handBackRoutes(run: ReleaseRun, targets: readonly RouteTarget[]): Promise<void> {
    const routing = run.deps.routing;
    if (routing === undefined) {
        return;
    }
    const results = await Promise.allSettled(targets.map((t) => routing.handBack(t)));
    results.forEach((r, i) => {
        if (r.status === "rejected") {
            run.record({
                kind: "error",
                message: `routing patch of ${describeTargets([targets[i]])} not handed back: ${firstLine((r.reason as Error).message)}`,
            });
        }
    });
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

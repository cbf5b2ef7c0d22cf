/** The steps of a release between its entry and its end: the start, then each stage and its analyses. */
import { transitions } from "../../config/release-transitions";
import { analyse, describeCheck } from "./analysis";
import { CONTINUE, Next, ReleaseRun } from "./context";
import { driftMessage, ROUTING_TYPES, stackChanges } from "./guard";
import { withRolloutHooks } from "./hook-points";
import { describeLoad, RunningLoad, startLoad } from "./load";
import { describeStage, Stage } from "./plan";

/**
 * A fresh release: deploys the canary at weight 0 and records the release as in progress (a promotion's release also
 * marks the approval it uses as used, in the same update).
 */
export async function start(run: ReleaseRun): Promise<Next> {
    const { image, version } = run.prepared;
    if (run.view.stable.image === image && run.view.stable.version === version) {
        run.record({
            kind: "start",
            message: `stack ${run.stack.name} already runs ${version} (${image}); nothing to do`,
        });
        await run.store.letGo();
        return { kind: "finish", result: run.finish("no-op", `already running ${version}`) };
    }
    try {
        const used = run.opts.promotion?.approval ? { at: run.clock.now(), from: run.opts.promotion.from } : undefined;
        const s = await run.transition(
            transitions.start(run.view, { image, version }, used),
            "start: canary deployed at weight 0",
            { guard: "start" },
        );
        run.record({
            kind: "start",
            message: `canary ${version} (${image}) deployed at weight 0`,
            changes: s.resourceChanges,
        });
        return CONTINUE;
    } catch (e) {
        return run.onTransitionError(e, "while starting");
    }
}

/**
 * Before a stage: stop when the deployed stack is no longer the one this bot deployed (someone ran `pulumi up`)
 * or the live routing objects drifted (someone edited them); neither is overwritten nor ignored.
 */
export async function checkStack(run: ReleaseRun): Promise<Next> {
    if (run.dryRun) {
        return CONTINUE;
    }
    const changed = stackChanges(run.store.deployed, (await run.stack.deployedConfig()) ?? {});
    if (changed.length > 0) {
        return run.stop(
            "paused",
            `the deployed stack changed under the bot (a \`pulumi up\` by someone else?): ${changed.join("; ")}. ` +
                "Nothing was overwritten; check the stack's history, then --resume (with --config-from)",
        );
    }
    const urns = await run.stack.routingUrns();
    const drifted = await run.stack.drift(ROUTING_TYPES, urns?.watched);
    if (drifted.length > 0) {
        return run.stop("paused", driftMessage(drifted, run.stack.name));
    }
    return CONTINUE;
}

/** A resumed release analyses only the canary it released: the deployed canary must run its image and version. */
async function checkResumedCanary(run: ReleaseRun): Promise<Next> {
    const canary = (await run.stack.outputs()).canary as { image?: string; version?: string } | undefined;
    const { image, version } = run.prepared;
    if (canary?.image === image && canary?.version === version) {
        return CONTINUE;
    }
    return {
        kind: "rollback",
        reason:
            `the deployed canary runs ${canary?.version ?? "?"} (${canary?.image ?? "?"}), not the release's ` +
            `${version} (${image}); it will not be analysed`,
        cause: "update-failed",
    };
}

/** Moves the canary to a stage, then analyses it until it passes, or says why to stop or roll back. */
export async function runStage(run: ReleaseRun, stage: Stage, first: boolean): Promise<Next> {
    if (run.interrupted) {
        return run.stop("interrupted", `interrupted before ${stage.phase} ${stage.weight}`);
    }
    try {
        const checked = await checkStack(run);
        if (checked.kind !== "continue") {
            return checked;
        }
        const t0 = Date.now();
        // A resumed release converges first: its start may never have been applied (a kill between the write
        // and the update), so the first stage may also deploy the canary. A dry run applies nothing, so each of
        // its previews also shows the start's changes.
        const s = await run.transition(transitions.stage(run.view, stage), `${stage.phase} ${stage.weight}`, {
            guard: (first && run.resumed) || run.dryRun ? "start" : "stage",
        });
        run.record({
            kind: "shift",
            message: describeStage(stage, run.policy),
            durationMs: Date.now() - t0,
            changes: s.resourceChanges,
        });
    } catch (e) {
        return run.onTransitionError(e, `at ${stage.phase} ${stage.weight}`);
    }
    if (run.dryRun) {
        run.record({
            kind: "analysis",
            verdict: "pass",
            message: `would analyse: ${run.prepared.checks.map((c) => c.name).join(", ")}`,
        });
        return CONTINUE;
    }
    if (first && run.resumed) {
        const canary = await checkResumedCanary(run);
        if (canary.kind !== "continue") {
            return canary;
        }
    }
    return judgeStage(run, stage);
}

/** Analyses the canary every interval until a verdict: pass moves on; failures and errors past their limits roll back. */
async function judgeStage(run: ReleaseRun, stage: Stage): Promise<Next> {
    const { policy } = run;
    const { metrics, checks, target, times } = run.prepared;
    let held = 0;
    let errors = 0;
    for (;;) {
        const load = windowLoad(run);
        const waited = await run.wait(times.intervalMs);
        const loadStats = await load?.stop();
        if (!waited) {
            return run.stop("interrupted", `interrupted while waiting to analyse ${stage.phase} ${stage.weight}`);
        }
        const a = await withRolloutHooks(run, await analyse(metrics, checks, policy, target, held), held);
        run.record({
            kind: "analysis",
            verdict: a.verdict,
            checks: a.checks,
            message:
                `${a.checks.map(describeCheck).join("  ")}  -> ${a.verdict}` +
                (loadStats ? `  (${describeLoad(loadStats)})` : ""),
            ...(loadStats ? { load: loadStats } : {}),
        });
        if (a.verdict === "error") {
            errors++;
            if (errors >= policy.errorLimit) {
                const why = a.checks
                    .filter((c) => c.verdict === "error")
                    .map(describeCheck)
                    .join("; ");
                return {
                    kind: "rollback",
                    reason: `${errors} consecutive analyses could not query the metrics (limit ${policy.errorLimit}) at ${stage.phase} ${stage.weight}: ${why}`,
                    cause: "metrics",
                };
            }
            continue;
        }
        errors = 0;
        if (a.verdict === "pass") {
            return CONTINUE;
        }
        if (a.verdict === "hold") {
            held++;
            continue;
        }
        held = 0;
        run.failures++;
        if (run.failures < policy.failureThreshold) {
            const counted = await countFailure(run, stage);
            if (counted.kind !== "continue") {
                return counted;
            }
            continue;
        }
        return {
            kind: "rollback",
            reason:
                `${run.failures} failed analyses (threshold ${policy.failureThreshold}) at ${stage.phase} ${stage.weight}: ` +
                a.checks
                    .filter((c) => c.verdict !== "pass")
                    .map(describeCheck)
                    .join("; "),
            cause: "unhealthy",
        };
    }
}

/**
 * Records the release's count of failed analyses with an update (state only, no resource moves), so that a bot killed
 * now resumes counting from it: with a threshold of 2, a failure, a kill and a failure roll back. At the threshold the
 * rollback's own first write records the count instead (no update more before traffic leaves the canary).
 */
async function countFailure(run: ReleaseRun, stage: Stage): Promise<Next> {
    const what = `failed analysis ${run.failures} of ${run.policy.failureThreshold} at ${stage.phase} ${stage.weight}`;
    try {
        await run.transition(transitions.countFailure(run.view, run.failures), what, { guard: "stage" });
        return CONTINUE;
    } catch (e) {
        return run.onTransitionError(e, `recording the ${what}`);
    }
}

/** The built-in load of one analysis window (releaseLoadUrl), through the canary header route unless turned off. */
function windowLoad(run: ReleaseRun): RunningLoad | undefined {
    const p = run.policy;
    if (p.loadUrl === undefined) {
        return undefined;
    }
    const header = p.loadCanaryHeader ? run.prepared.canaryHeader : undefined;
    return startLoad(
        {
            url: p.loadUrl,
            rate: p.loadRate,
            maxRequests: p.loadMaxRequests,
            timeoutMs: run.prepared.times.loadTimeoutMs,
            headers: header ? { [header.name]: header.value } : {},
        },
        run.clock,
        run.deps.signal,
    );
}

/** The steps of a release between preflight and its end: start (or resume), then each stage and its analyses. */
import { transitions } from "../../config/release-state";
import { StackLockedError } from "../automation/driver";
import { analyse, describeCheck } from "./analysis";
import { CONTINUE, firstLine, Next, ReleaseRun } from "./context";
import { describeStage, Stage } from "./plan";

/** Deploys the canary at weight 0 and records the release as in progress (or, resuming, says so). */
export async function start(run: ReleaseRun): Promise<Next> {
    const { image, version } = run.prepared;
    if (run.opts.resume) {
        run.record({ kind: "resume", message: `resuming ${version} (${image}) from stack config` });
        return CONTINUE;
    }
    if (run.view.stable.image === image && run.view.stable.version === version) {
        run.record({
            kind: "start",
            message: `stack ${run.stack.name} already runs ${version} (${image}); nothing to do`,
        });
        return { next: "finish", result: run.finish("no-op", `already running ${version}`) };
    }
    try {
        const s = await run.transition(
            transitions.start(run.view, { image, version }),
            "start: canary deployed at weight 0",
        );
        run.record({
            kind: "start",
            message: `canary ${version} (${image}) deployed at weight 0`,
            changes: s.resourceChanges,
        });
        return CONTINUE;
    } catch (e) {
        if (e instanceof StackLockedError) {
            return {
                next: "finish",
                result: run.finish("paused", `stack locked by another update: ${e.message}`, [
                    `wait for the other update, then: npm run release -- --stack ${run.stack.name} ` +
                        `--image ${image}${run.opts.version !== undefined ? ` --version ${run.opts.version}` : ""}`,
                    `if no update is running (one was killed), release its lock: pulumi cancel --stack ${run.stack.name} --yes`,
                ]),
            };
        }
        return { next: "rollback", reason: `pulumi up failed while starting: ${firstLine((e as Error).message)}` };
    }
}

/** Moves the canary to a stage, then analyses it until it passes, or says why to roll back. */
export async function runStage(run: ReleaseRun, stage: Stage): Promise<Next> {
    try {
        const t0 = Date.now();
        const s = await run.transition(transitions.stage(run.view, stage), `${stage.phase} ${stage.weight}`);
        run.record({
            kind: "shift",
            message: describeStage(stage, run.policy),
            durationMs: Date.now() - t0,
            changes: s.resourceChanges,
        });
    } catch (e) {
        if (e instanceof StackLockedError) {
            return run.paused(`at weight ${run.weight}`, e);
        }
        return {
            next: "rollback",
            reason: `pulumi up failed at ${stage.phase} ${stage.weight}: ${firstLine((e as Error).message)}`,
        };
    }
    if (run.opts.dryRun) {
        run.record({
            kind: "analysis",
            verdict: "pass",
            message: `would analyse: ${run.prepared.checks.map((c) => c.name).join(", ")}`,
        });
        return CONTINUE;
    }
    return judgeStage(run, stage);
}

/** Analyses the canary every interval until a verdict: pass moves on; failures and errors past their limits roll back. */
async function judgeStage(run: ReleaseRun, stage: Stage): Promise<Next> {
    const { policy } = run;
    const { metrics, checks, target, intervalMs } = run.prepared;
    let held = 0;
    let errors = 0;
    for (;;) {
        await run.clock.sleep(intervalMs);
        const a = await analyse(metrics, checks, policy, target, held);
        run.record({
            kind: "analysis",
            verdict: a.verdict,
            checks: a.checks,
            message: `${a.checks.map(describeCheck).join("  ")}  -> ${a.verdict}`,
        });
        if (a.verdict === "error") {
            errors++;
            if (errors >= policy.errorLimit) {
                return {
                    next: "rollback",
                    reason: `${errors} consecutive analyses could not query the metrics (limit ${policy.errorLimit})`,
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
        if (run.failures >= policy.failureThreshold) {
            return {
                next: "rollback",
                reason:
                    `${run.failures} failed analyses (threshold ${policy.failureThreshold}) at ${stage.phase} ${stage.weight}: ` +
                    a.checks
                        .filter((c) => c.verdict !== "pass")
                        .map(describeCheck)
                        .join("; "),
            };
        }
    }
}

/**
 * The release bot: steps a canary through its weights, judges it on Prometheus metrics, rolls back or completes.
 *
 * preflight (lease, deployed state, checks) -> start (or resume) -> pre-rollout hooks -> each stage (a manual
 * gate before it where the policy has one; checks, previewed shift, then analyses) -> gate and confirm-promotion
 * hooks before completion -> complete | rollback -> post-rollout or rollback hooks. Every state change is a stack
 * config change followed by `pulumi up`, so `pulumi stack history` tells the story and a killed bot resumes from
 * the deployed state. Time and the stack are injected: unit tests run the whole state machine with a fake clock
 * and an in-memory stack.
 */
import { Approval, COMPLETE_GATE, recordedCause } from "../../config/release-state";
import { transitions } from "../../config/release-transitions";
import { complete } from "./complete";
import { CONTINUE, Next, ReleaseDeps, ReleaseOptions, ReleaseRun } from "./context";
import { decideForWaitingBot } from "./decisions";
import { atGate, gateBefore, stagesFromGate } from "./manual-gate";
import { describeGate } from "./wording";
import { afterRelease, confirmPromotion, preRollout } from "./hook-points";
import { planStages, resumeStages, Stage } from "./plan";
import { preflight } from "./preflight";
import { ReleaseResult } from "./result";
import { rollback } from "./rollback";
import { runStage, start } from "./stage";

/** Runs a release to its end. Throws {@link PreflightError} (nothing changed) or returns the result. */
export async function runRelease(opts: ReleaseOptions, deps: ReleaseDeps): Promise<ReleaseResult> {
    if (opts.decision !== undefined) {
        const recorded = await decideForWaitingBot(opts, deps);
        if (recorded !== undefined) {
            return recorded;
        }
    }
    const run = new ReleaseRun(opts, deps, await preflight(opts, deps));
    const result = await drive(run);
    await afterRelease(run, result);
    await run.hooks.flush();
    return run.hooks.calls.length > 0 ? { ...result, hooks: run.hooks.calls } : result;
}

async function drive(run: ReleaseRun): Promise<ReleaseResult> {
    const { opts } = run;
    const state = run.view.state;
    if (opts.decision?.kind === "abort") {
        const reason = `aborted by ${opts.decision.by} at ${run.clock.now().toISOString()}`;
        run.record({ kind: "gate", message: `${reason} (release ${state.status})` });
        return state.status === "rolling-back"
            ? rollback(run, state.message ?? reason, recordedCause(state))
            : rollback(run, reason, "aborted");
    }
    if (opts.resume && state.status === "rolling-back") {
        run.record({
            kind: "resume",
            message: `resuming the rollback of ${run.prepared.version}: ${state.message ?? ""}`,
        });
        return rollback(run, state.message ?? "rollback resumed", recordedCause(state));
    }
    if (opts.resume && (state.status === "completed" || state.status === "rolled-back")) {
        return applyRecorded(run);
    }
    const planned = planStages(run.policy);
    const gate = state.status === "awaiting-approval" ? state.gate : undefined;
    const stages =
        (gate !== undefined ? stagesFromGate(planned, gate) : undefined) ??
        (opts.resume ? resumeStages(planned, run.phase ?? "steps", run.view.canaryWeight) : planned);
    let next: Next = await start(run);
    // A decision always resumes (preflight refuses one without --resume), and a resumed start always goes on.
    if (opts.decision?.kind === "approve") {
        next = await approve(run);
    }
    if (next.kind === "continue" && !run.trafficMoved && stages.length > 0) {
        next = await preRollout(run);
    }
    next = await runStages(run, stages, next);
    if (next.kind === "continue" && run.policy.gates.includes(COMPLETE_GATE)) {
        next = await atGate(run, COMPLETE_GATE);
    }
    if (next.kind === "continue") {
        next = await confirmPromotion(run);
    }
    if (next.kind === "continue") {
        next = await complete(run);
    }
    return next.kind === "rollback" ? rollback(run, next.reason, next.cause) : next.result;
}

/** Each stage, with the manual gate before it where the policy has one. */
async function runStages(run: ReleaseRun, stages: Stage[], next: Next): Promise<Next> {
    for (const [i, stage] of stages.entries()) {
        if (next.kind !== "continue") {
            break;
        }
        const gate = gateBefore(run.policy.gates, stage);
        next = gate === undefined ? CONTINUE : await atGate(run, gate);
        if (next.kind === "continue") {
            next = await runStage(run, stage, i === 0);
        }
    }
    return next;
}

/** `--approve`: the decision recorded and the gate passed, by one update; the release goes on from the gate. */
async function approve(run: ReleaseRun): Promise<Next> {
    const { gate, version } = run.view.state;
    const d: Approval = {
        gate: gate!,
        version: version!,
        decision: "approve",
        by: run.opts.decision!.by,
        at: run.clock.now().toISOString(),
    };
    try {
        const to = transitions.passGate(transitions.recordDecision(run.view, d));
        await run.transition(to, `gate ${gate!} approved by ${d.by}`, { guard: "stage" });
        return CONTINUE;
    } catch (e) {
        return run.onTransitionError(e, `approving the gate ${describeGate(gate!)}`);
    }
}

/** Resuming a final write (completed, rolled back) that a killed bot never deployed: deploy it. */
async function applyRecorded(run: ReleaseRun): Promise<ReleaseResult> {
    const { state } = run.view;
    const { status, message } = state;
    run.record({ kind: "resume", message: `applying the recorded ${status} of ${run.prepared.version}` });
    try {
        await run.transition(transitions.letGo(run.view), `resume: ${status}`);
    } catch (e) {
        const next = await run.onTransitionError(e, `while applying the recorded ${status}`);
        return next.kind === "finish"
            ? next.result
            : run.finish("paused", next.reason, { trafficMoved: run.trafficMoved });
    }
    return status === "completed"
        ? run.finish("completed", message ?? "completed")
        : run.finish("rolled-back", message ?? "rolled back", { cause: recordedCause(state) });
}

/**
 * The release bot: steps a canary through its weights, judges it on Prometheus metrics, rolls back or completes.
 *
 * A run is read top to bottom: a decision for a bot waiting at a gate is only recorded (decisions.ts); otherwise
 * preflight checks everything and decides the run's entry (entry.ts), and `drive` does what the entry says. A
 * release that goes on runs its steps in turn, each returning early with the end it met (Argo Rollouts'
 * reconcile steps, Flagger's one pass): enter (start, or resume; at a gate, `--approve` passes it), the pre-rollout
 * hooks while no traffic moved, each stage behind its manual gate, the gate before completion, the
 * confirm-promotion hooks, completion. Every state change is a stack config change followed by `pulumi up`
 * (store.ts), so `pulumi stack history` tells the story and a killed bot resumes from the deployed state. Time and
 * the stack are injected: unit tests run the whole state machine with a fake clock and an in-memory stack.
 */
import { COMPLETE_GATE, recordedCause } from "../../config/release-state";
import { transitions } from "../../config/release-transitions";
import { complete } from "./complete";
import { CONTINUE, End, Next, ReleaseDeps, ReleaseOptions, ReleaseRun } from "./context";
import { decideForWaitingBot } from "./decisions";
import { RolloutEntry, RunEntry } from "./entry";
import { handBackLeftoverRoutes } from "./fast-rollback";
import { afterRelease, confirmPromotion, preRollout } from "./hook-points";
import { approveGate, atGate } from "./manual-gate";
import { gateBefore, planStages, Stage, stagesFrom } from "./plan";
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
    const prepared = await preflight(opts, deps);
    try {
        const run = new ReleaseRun(opts, deps, prepared);
        const result = await drive(run, prepared.entry);
        await afterRelease(run, result);
        await run.hooks.flush();
        return run.hooks.calls.length > 0 ? { ...result, hooks: run.hooks.calls } : result;
    } finally {
        // However the run ended: the lease is let go where it is still this bot's (its renew timer stops).
        await prepared.lease.letGo().catch(() => undefined);
    }
}

/** What the run does, by where it enters the release. */
async function drive(run: ReleaseRun, entry: RunEntry): Promise<ReleaseResult> {
    switch (entry.kind) {
        case "abort":
            return abort(run, entry.by);
        case "finish-rollback":
            return finishRollback(run, entry.abortedBy);
        case "apply-final":
            return applyFinal(run);
        default:
            return settle(run, await rollOut(run, entry));
    }
}

/** The release from its entry to its end: each step in turn while the one before says go on. */
function rollOut(run: ReleaseRun, entry: RolloutEntry): Promise<End> {
    const { state, canaryWeight } = run.view;
    const stages = stagesFrom(entry, planStages(run.policy), { phase: state.phase, weight: canaryWeight });
    return inTurn(
        [
            () => enter(run, entry),
            () => (run.trafficMoved || stages.length === 0 ? CONTINUE : preRollout(run)),
            ...stages.map((stage, i) => () => gatedStage(run, stage, i === 0)),
            () => (run.policy.gates.includes(COMPLETE_GATE) ? atGate(run, COMPLETE_GATE) : CONTINUE),
            () => confirmPromotion(run),
        ],
        () => complete(run),
    );
}

/** Runs `steps` in turn; the first that does not go on ends the release, else `last` does. */
async function inTurn(steps: (() => Next | Promise<Next>)[], last: () => Promise<End>): Promise<End> {
    for (const step of steps) {
        const next = await step();
        if (next.kind !== "continue") {
            return next;
        }
    }
    return last();
}

/** The result of an end: the result met, or the rollback it calls for. */
function settle(run: ReleaseRun, end: End): Promise<ReleaseResult> | ReleaseResult {
    return end.kind === "rollback" ? rollback(run, end.reason, end.cause) : end.result;
}

/**
 * The first step, once routes a killed bot's patch still claims are handed back: a fresh release starts; a resumed
 * one says so and, approved at its gate (`--approve`), records the decision and passes the gate.
 */
async function enter(run: ReleaseRun, entry: RolloutEntry): Promise<Next> {
    await handBackLeftoverRoutes(run);
    if (entry.kind === "fresh") {
        return start(run);
    }
    const { image, version } = run.prepared;
    run.record({ kind: "resume", message: `resuming ${version} (${image}) from the deployed state` });
    return entry.kind === "from-gate" && entry.approvedBy !== undefined ? approveGate(run, entry.approvedBy) : CONTINUE;
}

/** A stage, behind the manual gate before it where the policy has one. */
async function gatedStage(run: ReleaseRun, stage: Stage, first: boolean): Promise<Next> {
    const gate = gateBefore(run.policy.gates, stage);
    const passed = gate === undefined ? CONTINUE : await atGate(run, gate);
    return passed.kind === "continue" ? runStage(run, stage, first) : passed;
}

/** `--abort` of a release in progress or waiting at a gate: told in the story, then rolled back (cause "aborted"). */
function abort(run: ReleaseRun, by: string): Promise<ReleaseResult> {
    const reason = `aborted by ${by} at ${run.clock.now().toISOString()}`;
    run.record({ kind: "gate", message: `${reason} (release ${run.view.state.status})` });
    return rollback(run, reason, "aborted");
}

/**
 * The rollback a killed bot left under way, finished with the reason and cause it recorded; an `--abort` of it is
 * told in the story, and changes neither.
 */
function finishRollback(run: ReleaseRun, abortedBy: string | undefined): Promise<ReleaseResult> {
    const { state } = run.view;
    if (abortedBy !== undefined) {
        const reason = `aborted by ${abortedBy} at ${run.clock.now().toISOString()}`;
        run.record({ kind: "gate", message: `${reason} (release ${state.status})` });
        return rollback(run, state.message ?? reason, recordedCause(state));
    }
    run.record({ kind: "resume", message: `resuming the rollback of ${run.prepared.version}: ${state.message ?? ""}` });
    return rollback(run, state.message ?? "rollback resumed", recordedCause(state));
}

/** A final write (completed, rolled back) that a killed bot never deployed: deployed now, the lease let go. */
async function applyFinal(run: ReleaseRun): Promise<ReleaseResult> {
    const { state } = run.view;
    const { status, message } = state;
    run.record({ kind: "resume", message: `applying the recorded ${status} of ${run.prepared.version}` });
    try {
        await run.transition(transitions.letGo(run.view), `resume: ${status}`);
    } catch (e) {
        const end = await run.onTransitionError(e, `while applying the recorded ${status}`);
        return end.kind === "finish"
            ? end.result
            : run.finish("paused", end.reason, { trafficMoved: run.trafficMoved });
    }
    return status === "completed"
        ? run.finish("completed", message ?? "completed")
        : run.finish("rolled-back", message ?? "rolled back", { cause: recordedCause(state) });
}

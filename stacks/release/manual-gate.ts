/**
 * Manual gates: before a configured step (or before completion) the release waits for a person. The bot records
 * "awaiting-approval" in stack config with an update (it survives a crash and shows in `pulumi stack history`),
 * prints how to approve, and stops with its own exit code, so no CI runner is held for hours; or, with
 * `--wait-for-approval`, it waits in its process, holding its lease, for a decision another process records.
 *
 * A decision (approve or abort) names who and when, and is for one gate of one version: a decision for another
 * stack, a gate the release already left or another version is refused with the reason.
 */
import { COMPLETE_GATE, Gate, ReleaseState, ReleaseView, stateIn } from "../../config/release-state";
import { decisionAtGate, transitions } from "../../config/release-transitions";
import { StackLockedError } from "../automation/driver";
import { CONTINUE, Next, ReleaseRun } from "./context";
import { Stage } from "./plan";
import { describeGate, gateCommands, gateSteps } from "./wording";

/** How often a bot waiting at a gate looks for a decision. */
export const DECISION_POLL_MS = 5000;

/** The gate before a stage, if the policy has one there. */
export function gateBefore(gates: Gate[], stage: Stage): Gate | undefined {
    return stage.phase === "steps" && gates.includes(String(stage.weight)) ? String(stage.weight) : undefined;
}

/** The stages left after a gate: from the gated step on, or none before completion. */
export function stagesFromGate(stages: Stage[], gate: Gate): Stage[] | undefined {
    if (gate === COMPLETE_GATE) {
        return [];
    }
    const i = stages.findIndex((s) => s.phase === "steps" && String(s.weight) === gate);
    return i < 0 ? undefined : stages.slice(i);
}

/**
 * Why a decision cannot be taken on this release, or undefined when it can: wrong stack (no release there),
 * a release that moved on (another gate, no longer waiting), another version.
 */
export function decisionProblem(
    stack: string,
    state: ReleaseState,
    d: { kind: "approve" | "abort"; gate?: string },
    version?: string,
): string | undefined {
    const active = ["in-progress", "awaiting-approval", "rolling-back"].includes(state.status);
    if (!active) {
        return (
            `stack ${stack} has no release ${d.kind === "approve" ? "waiting for approval" : "to abort"} ` +
            `(releaseStatus is "${state.status}"${state.version ? `, last release ${state.version}` : ""}): wrong stack?`
        );
    }
    if (version !== undefined && version !== state.version) {
        return `the release on stack ${stack} is ${state.version ?? "?"}, not ${version}: a decision is for one version`;
    }
    if (d.kind === "abort") {
        return undefined;
    }
    if (state.status !== "awaiting-approval") {
        return (
            `the release of ${state.version ?? "?"} on stack ${stack} is not waiting for approval (it is ` +
            `${state.status}${state.phase ? `, ${state.phase}` : ""}): it moved on`
        );
    }
    if (d.gate !== undefined && d.gate !== state.gate) {
        return (
            `the release of ${state.version ?? "?"} on stack ${stack} waits ${describeGate(state.gate ?? "?")}, ` +
            `not ${describeGate(d.gate)}: it moved on`
        );
    }
    return undefined;
}

/** A decision for `view`'s gate recorded in stack config or in the deployed config (another process's). */
async function recordedDecision(run: ReleaseRun, view: ReleaseView) {
    for (const values of [(await run.stack.getConfig()).values, (await run.stack.deployedConfig()) ?? {}]) {
        const { approvals } = stateIn(values);
        const d = decisionAtGate({ ...view, state: { ...view.state, approvals } });
        if (d !== undefined) {
            return { d, approvals: approvals! };
        }
    }
    return undefined;
}

/** Applies an approval at the gate the release waits at (an update: the next stage starts from it). */
async function pass(run: ReleaseRun, view: ReleaseView, gate: Gate): Promise<Next> {
    for (let tries = 1; ; tries++) {
        try {
            await run.transition(transitions.passGate(view), `gate ${gate} approved`, { guard: "stage" });
            return CONTINUE;
        } catch (e) {
            // The process that recorded the decision may still hold the stack's lock for a moment.
            if (!(e instanceof StackLockedError) || tries >= 3) {
                return run.onTransitionError(e, `passing gate ${gate}`);
            }
            await run.clock.sleep(2000, run.deps.signal);
        }
    }
}

/** Acts on a decision at the gate: approve goes on, abort rolls back. */
async function act(run: ReleaseRun, view: ReleaseView, gate: Gate): Promise<Next> {
    const d = decisionAtGate(view)!;
    run.record({ kind: "gate", message: `gate ${describeGate(gate)}: ${d.decision} by ${d.by} at ${d.at}` });
    if (d.decision === "abort") {
        return { kind: "rollback", reason: `aborted by ${d.by} at the gate ${describeGate(gate)}`, cause: "aborted" };
    }
    return view.state.status === "awaiting-approval" ? pass(run, view, gate) : CONTINUE;
}

/**
 * At a gate: an approval already given for it (the approving process continues the release) goes on; otherwise
 * the release is recorded as awaiting approval and the bot waits for a decision (`waitForApprovalMs`) or stops.
 */
export async function atGate(run: ReleaseRun, gate: Gate): Promise<Next> {
    const { version } = run.prepared;
    if (run.opts.dryRun) {
        run.record({ kind: "gate", message: `would wait for approval ${describeGate(gate)}` });
        return CONTINUE;
    }
    if (
        run.view.state.status === "in-progress" &&
        decisionAtGate({ ...run.view, state: { ...run.view.state, gate } })
    ) {
        return act(run, { ...run.view, state: { ...run.view.state, gate } }, gate);
    }
    if (run.view.state.status !== "awaiting-approval" || run.view.state.gate !== gate) {
        try {
            await run.transition(transitions.awaitApproval(run.view, gate), `awaiting approval ${describeGate(gate)}`, {
                guard: "stage",
            });
        } catch (e) {
            return run.onTransitionError(e, `at the gate ${describeGate(gate)}`);
        }
    }
    const [approve] = gateCommands(run.stack.name, version, gate);
    run.record({ kind: "gate", message: `awaiting approval ${describeGate(gate)}: ${approve}` });
    const limit = run.opts.waitForApprovalMs;
    if (limit !== undefined && limit > 0) {
        const until = run.clock.now().getTime() + limit;
        while (run.clock.now().getTime() < until) {
            const found = await recordedDecision(run, run.view);
            if (found !== undefined) {
                return act(run, { ...run.view, state: { ...run.view.state, approvals: found.approvals } }, gate);
            }
            if (!(await run.wait(Math.min(DECISION_POLL_MS, until - run.clock.now().getTime())))) {
                return run.stop("interrupted", `interrupted while waiting for approval ${describeGate(gate)}`);
            }
        }
    }
    const waited = limit ? ` (no decision within the ${Math.round(limit / 1000)} s it waited)` : "";
    return run.stop(
        "awaiting-approval",
        `release ${version} waits for approval ${describeGate(gate)}${waited}`,
        gateSteps(run.stack.name, version, gate),
    );
}

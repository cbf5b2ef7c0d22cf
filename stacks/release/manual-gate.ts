/**
 * Manual gates: before a configured step (or before completion) the release waits for a person. The bot records
 * "awaiting-approval" in stack config with an update (it survives a crash and shows in `pulumi stack history`),
 * prints how to approve, and stops with its own exit code, so no CI runner is held for hours; or, with
 * `--wait-for-approval`, it waits in its process, holding its lease, for a decision another process records.
 *
 * A decision (approve or abort) names who and when, and is for one gate of one version: a decision for another
 * stack, a gate the release already left or another version is refused with the reason (entry.ts).
 */
import { Approval, Gate, ReleaseView, stateIn } from "../../config/release-state";
import { decisionAtGate, decisionFor, transitions } from "../../config/release-transitions";
import { StackLockedError } from "../automation/driver";
import { CONTINUE, Next, ReleaseRun } from "./context";
import { describeGate, gateCommands, gateSteps } from "./wording";

/** How often a bot waiting at a gate looks for a decision. */
export const DECISION_POLL_MS = 5000;

/** The release `view` with the decisions for its gate that stack config or the deployed config (another process's) holds. */
async function withRecordedDecision(run: ReleaseRun, view: ReleaseView): Promise<ReleaseView | undefined> {
    for (const values of [(await run.stack.getConfig()).values, (await run.stack.deployedConfig()) ?? {}]) {
        const decided = { ...view, state: { ...view.state, approvals: stateIn(values).approvals } };
        if (decisionAtGate(decided) !== undefined) {
            return decided;
        }
    }
    return undefined;
}

/** `--approve`: the decision recorded and the gate passed by one update; the release goes on from the gate. */
export function approveGate(run: ReleaseRun, by: string): Promise<Next> {
    const approval = decisionFor(run.view.state, "approve", by, run.clock.now());
    return passGate(run, transitions.recordDecision(run.view, approval), approval);
}

/**
 * Passes the gate `decided` waits at, approved by `d` (recorded there by this process or another one), with one
 * guarded update. A locked stack is tried again twice: the process that recorded a decision may hold the lock for
 * a moment.
 */
async function passGate(run: ReleaseRun, decided: ReleaseView, d: Approval): Promise<Next> {
    for (let tries = 1; ; tries++) {
        try {
            await run.transition(transitions.passGate(decided), `gate ${d.gate} approved by ${d.by}`, {
                guard: "stage",
            });
            return CONTINUE;
        } catch (e) {
            if (!(e instanceof StackLockedError) || tries >= 3) {
                return run.onTransitionError(e, `approving the gate ${describeGate(d.gate)}`);
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
    return view.state.status === "awaiting-approval" ? passGate(run, view, d) : CONTINUE;
}

/**
 * At a gate: an approval already given for it (the approving process continues the release) goes on; otherwise
 * the release is recorded as awaiting approval and the bot waits for a decision (`waitForApprovalMs`) or stops.
 */
export async function atGate(run: ReleaseRun, gate: Gate): Promise<Next> {
    const { version, image } = run.prepared;
    if (run.dryRun) {
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
    const [approve] = gateCommands(run.stack.name, version, gate, image);
    run.record({ kind: "gate", message: `awaiting approval ${describeGate(gate)}: ${approve}` });
    const limit = run.opts.waitForApprovalMs;
    if (limit !== undefined && limit > 0) {
        const until = run.clock.now().getTime() + limit;
        while (run.clock.now().getTime() < until) {
            const decided = await withRecordedDecision(run, run.view);
            if (decided !== undefined) {
                return act(run, decided, gate);
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
        gateSteps(run.stack.name, version, gate, image),
    );
}

/**
 * A person's decision at a gate while a bot waits there (`--wait-for-approval`): the bot holds the release's
 * lease, so the deciding process does not take it; it records the decision (who, when, which gate and version)
 * with a recording update, and the waiting bot acts on it. With no bot waiting, the deciding process takes the
 * lease and continues (or rolls back) the release itself (run.ts).
 */
import { parsePolicy } from "../../config/policy";
import { ConfigError } from "../../config/reader";
import { stateChanges, stateIn } from "../../config/release-state";
import { decisionFor, transitions } from "../../config/release-transitions";
import { systemClock } from "./clock";
import { logOf, ReleaseDeps, ReleaseOptions } from "./context";
import { decisionProblem } from "./entry";
import { describeGate } from "./wording";
import { leaseName, leaseNamespace, otherLiveHolder } from "./kube-lease";
import { LeaseIdentity, liveHolder, processIdentity } from "./lease";
import { recordInStack } from "./recording";
import { PreflightError, publicPolicy, ReleaseResult, resultOf } from "./result";

/**
 * Records `opts.decision` for a bot that waits at a gate and returns the result; undefined when no live bot holds
 * the release (the caller then runs the release itself). Throws {@link PreflightError} for a decision that does
 * not fit the gate waiting (wrong stack, moved on, another version).
 */
export async function decideForWaitingBot(opts: ReleaseOptions, deps: ReleaseDeps): Promise<ReleaseResult | undefined> {
    const { stack } = deps;
    const d = opts.decision!;
    const clock = deps.clock ?? systemClock;
    const me = deps.identity ?? processIdentity();
    const now = clock.now();
    const { values: local, secretKeys } = await stack.getConfig();
    const deployed = await stack.deployedConfig();
    const held = await waitingBot(local, deployed, deps, me, now);
    const state = stateIn(deployed ?? local);
    if (held === undefined || state.status !== "awaiting-approval") {
        return undefined;
    }
    const problem = decisionProblem(stack.name, state, d, opts);
    if (problem !== undefined) {
        throw new PreflightError(problem);
    }
    const decision = decisionFor(state, d.kind, d.by, now);
    const startedAt = now.toISOString();
    let policy;
    try {
        policy = publicPolicy(parsePolicy(local, secretKeys));
    } catch (e) {
        throw e instanceof ConfigError
            ? new PreflightError(`the release policy of ${stack.name} is invalid:\n${e.message}`)
            : e;
    }
    await recordInStack(stack, {
        configFrom: opts.configFrom,
        engineOutput: deps.engineOutput,
        message: `release ${decision.version}: ${d.kind} at the gate ${describeGate(decision.gate)} by ${d.by}`,
        changes: (values) => {
            const here = stateIn(values);
            const problem = decisionProblem(stack.name, here, d, opts);
            if (problem !== undefined || here.gate !== decision.gate) {
                throw new PreflightError(problem ?? `the gate changed while recording: ${here.gate ?? "none"}`);
            }
            return stateChanges(here, transitions.recordDecision({ state: here }, decision).state);
        },
    });
    const reason =
        `${d.kind} at the gate ${describeGate(decision.gate)} of ${decision.version} recorded (by ${d.by}); ` +
        `the bot waiting there (${held.holder}) ${d.kind === "approve" ? "continues the release" : "rolls it back"}`;
    logOf(deps)(reason);
    return resultOf(
        { stack: stack.name, image: state.image ?? "", version: decision.version, startedAt, policy },
        {
            outcome: "decision-recorded",
            reason,
            finishedAt: clock.now().toISOString(),
            events: [],
            approvals: [...(state.approvals ?? []), decision],
        },
    );
}

/**
 * The live bot that holds the release, if any: with the cluster's Leases, the holder of the stack's Lease (the
 * config copy is only a record; an unreachable cluster is no bot found, and the run that follows refuses); else
 * the lease in stack config.
 */
async function waitingBot(
    local: Record<string, string>,
    deployed: Record<string, string> | undefined,
    deps: ReleaseDeps,
    me: LeaseIdentity,
    now: Date,
): Promise<{ holder: string } | undefined> {
    if (deps.leases === undefined) {
        return liveHolder({ local, deployed }, me, now);
    }
    const namespace = leaseNamespace(local);
    const lease =
        namespace === undefined
            ? undefined
            : await deps.leases.get(namespace, leaseName(deps.stack.name)).catch(() => undefined);
    const holder = otherLiveHolder(lease, me.id, now);
    return holder === undefined ? undefined : { holder };
}

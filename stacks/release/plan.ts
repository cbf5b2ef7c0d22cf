/** The plan of a release: its stages, the gates before them, and where a run picks up (its entry). */
import { ReleasePolicy } from "../../config/policy";
import { COMPLETE_GATE, Gate, ReleasePhase, StagePosition } from "../../config/release-state";
import { RolloutEntry } from "./entry";

/** A stage of the plan: the canary at a phase and weight, then analyses until it passes. */
export type Stage = StagePosition;

/**
 * The stages of a release: optional mirror phase, optional header phase, then each weight step. The mirror phase
 * is the program's doing: while `releasePhase` is "mirror", it mirrors `releaseMirrorPercent` of the traffic to
 * the canary (the user's own `mirrorPercent` is never touched).
 */
export function planStages(policy: ReleasePolicy): Stage[] {
    const stages: Stage[] = [];
    if (policy.mirrorPercent > 0) {
        stages.push({ phase: "mirror", weight: 0 });
    }
    if (policy.headerPhase) {
        stages.push({ phase: "header", weight: 0 });
    }
    for (const weight of policy.steps) {
        stages.push({ phase: "steps", weight });
    }
    return stages;
}

/**
 * Where a resumed release picks up: the stage it was in (applied again: the same weight, so no traffic moves, and
 * the stack converges on it), analysed again; a weight that is no longer a step of the policy becomes a stage of
 * its own. A "steps" release at weight 0 had not shifted yet: it starts with the first stage.
 */
export function resumeStages(stages: Stage[], phase: ReleasePhase, weight: number): Stage[] {
    if (phase === "complete") {
        return []; // every step passed; only the completion is left
    }
    if (phase === "steps" && weight === 0) {
        return stages;
    }
    const here = stages.findIndex((s) => s.phase === phase && s.weight === weight);
    if (here >= 0) {
        return stages.slice(here);
    }
    // Then the steps above it (every stage before the steps has weight 0).
    return [{ phase, weight }, ...stages.filter((s) => s.weight > weight)];
}

/**
 * The gate before a stage, if the policy has one there: a gate is a step's weight (every stage before the steps has
 * weight 0, which is no gate).
 */
export function gateBefore(gates: Gate[], stage: Stage): Gate | undefined {
    const weight = String(stage.weight);
    return gates.includes(weight) ? weight : undefined;
}

/** The stages left after a gate: from the gated step on, or none before completion; undefined for no such step. */
export function stagesFromGate(stages: Stage[], gate: Gate | undefined): Stage[] | undefined {
    if (gate === COMPLETE_GATE) {
        return [];
    }
    const gated = stages.findIndex((s) => String(s.weight) === gate);
    return gated === -1 ? undefined : stages.slice(gated);
}

/**
 * The stages a run goes through from its entry (entry.ts): all of them for a fresh release; from the gate for one
 * waiting at a gate; otherwise (or for a gate that is no step of the plan) from the stage it is at.
 */
export function stagesFrom(
    entry: RolloutEntry,
    stages: Stage[],
    at: { phase?: ReleasePhase; weight: number },
): Stage[] {
    if (entry.kind === "fresh") {
        return stages;
    }
    const fromGate = entry.kind === "from-gate" ? stagesFromGate(stages, entry.gate) : undefined;
    return fromGate ?? resumeStages(stages, at.phase ?? "steps", at.weight);
}

/** What a stage does, for the log and the report. */
export function describeStage(stage: Stage, policy: ReleasePolicy): string {
    switch (stage.phase) {
        case "mirror":
            return `mirror phase: ${policy.mirrorPercent}% of traffic mirrored to the canary`;
        case "header":
            return "header phase: only requests with the canary header reach the canary";
        default:
            return `shifted: stable ${100 - stage.weight} / canary ${stage.weight}`;
    }
}

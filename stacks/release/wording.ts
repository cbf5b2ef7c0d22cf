/**
 * The release bot's words for people, kept out of the run's logic: a config value and a gate as messages show them,
 * the line an event prints, and the commands a person runs next (resume, approve or abort at a gate, wait for a
 * lock, finish a rollback by hand). The command-line tool and the report print them as they are.
 */
import { COMPLETE_GATE, Gate } from "../../config/release-state";
import { ReleaseEvent } from "./result";

/** A config value as messages show it: quoted, or "unset". */
export function shown(value: string | undefined): string {
    return value === undefined ? "unset" : JSON.stringify(value);
}

/** "before step 50" or "before completion". */
export function describeGate(gate: Gate): string {
    return gate === COMPLETE_GATE ? "before completion" : `before step ${gate}`;
}

/** The line an event prints: "2026-11-30T10:00:00.000Z  steps  weight  25  <message>". */
export function eventLine(e: ReleaseEvent): string {
    return `${e.time}  ${(e.phase ?? "-").padEnd(6)} weight ${String(e.weight).padStart(3)}  ${e.message}`;
}

/** The command that resumes the release on `stack`. */
export function resumeCommand(stack: string): string {
    return `npm run release -- --stack ${stack} --resume`;
}

/** What to do when another update holds the stack's lock. */
export function lockedSteps(stack: string): string[] {
    return [
        `wait for the other update, then: ${resumeCommand(stack)}`,
        `if no update is running (one was killed), release its lock: pulumi cancel --stack ${stack} --yes`,
    ];
}

/** The commands a person runs at a gate: approve (naming the version, gate and image waiting), abort. */
export function gateCommands(stack: string, version: string, gate: Gate, image: string): string[] {
    return [
        `npm run release -- --stack ${stack} --approve --version ${version} --gate ${gate} --image ${image}`,
        `npm run release -- --stack ${stack} --abort --version ${version}`,
    ];
}

/** The commands at a gate, each with what it does. */
export function gateSteps(stack: string, version: string, gate: Gate, image: string): string[] {
    const [approve, abort] = gateCommands(stack, version, gate, image);
    return [`${approve}   # approve and continue`, `${abort}   # roll back`];
}

/** The routes of these URNs by their Pulumi names, for a sentence: "VirtualService", "GRPCRoutes shop-route and shop-mesh-route". */
export function routesNamed(urns: string[]): string {
    const kinds = [...new Set(urns.map((u) => u.split("::").at(-2)?.split(":").at(-1) ?? "route"))];
    if (urns.length === 1) {
        return kinds[0];
    }
    return `${kinds.join(" and ")}s ${urns.map((u) => u.split("::").at(-1)).join(" and ")}`;
}

/** The commands that finish a rollback by hand (`urns`: the routes', for a targeted update). */
export function rollbackSteps(stack: string, urns: string[] | undefined, locked: boolean): string[] {
    return [
        ...(locked
            ? [`wait for the update holding the lock, or release it: pulumi cancel --stack ${stack} --yes`]
            : []),
        `pulumi config set canaryWeight 0 --stack ${stack}`,
        `pulumi config set releaseStatus rolling-back --stack ${stack}`,
        `pulumi config rm releasePhase --stack ${stack}`,
        urns
            ? `pulumi up --stack ${stack} --yes ${urns.map((u) => `--target '${u}'`).join(" ")}`
            : `pulumi up --stack ${stack} --yes`,
        `${resumeCommand(stack)}   # finishes the rollback (or: pulumi up --stack ${stack} --yes)`,
    ];
}

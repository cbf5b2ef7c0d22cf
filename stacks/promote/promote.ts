/**
 * Promotion between stack-per-environment: a version moves dev -> staging -> prod only after it completed a
 * release on the stack before. The source stack's outputs say what it runs and how its last release ended; the
 * target's own config holds its release policy, so the bot releases there as strictly as that environment asks,
 * after its promotion gates (soak time, approval: promotion-gates.ts) pass.
 */
import { StackDriver } from "../automation/driver";
import { systemClock } from "../release/clock";
import { ReleaseDeps, ReleaseOptions } from "../release/context";
import { checkPromotionGates, PromotionState, targetGates } from "./promotion-gates";

export { promotionState, type PromotionState } from "./promotion-gates";
import { ReleaseResult } from "../release/result";
import { runRelease } from "../release/run";

/** What to do. */
export type PromotionDecision =
    | { action: "release"; image: string; version: string }
    | { action: "no-op"; reason: string }
    | {
          action: "refuse";
          reason: string;
          /** Refused only for the target's soak time: how long is left (a wave waits it out, see waves.ts). */
          soakLeftMs?: number;
      };

/**
 * The promotion rules. `source` is undefined when the source stack does not exist or was never deployed.
 * `version` defaults to the version the source runs.
 */
export function decidePromotion(
    from: string,
    to: string,
    source: PromotionState | undefined,
    target: PromotionState | undefined,
    version?: string,
): PromotionDecision {
    if (source === undefined) {
        return { action: "refuse", reason: `stack ${from} does not exist or was never deployed: nothing to promote` };
    }
    const v = version ?? source.stable.version;
    const r = source.release;
    if (r.status === "in-progress") {
        return {
            action: "refuse",
            reason: `stack ${from} has a release of ${r.version ?? "?"} in progress; promote ${v} after it completes`,
        };
    }
    if (r.version === v && (r.status === "rolled-back" || r.status === "failed")) {
        return {
            action: "refuse",
            reason: `the release of ${v} on stack ${from} was ${r.status}: it cannot be promoted`,
        };
    }
    if (r.status !== "completed" || r.version !== v || source.stable.version !== v) {
        return {
            action: "refuse",
            reason:
                `stack ${from} has no completed release of ${v} (it runs ${source.stable.version}; its last release: ` +
                `${r.version === undefined ? "none" : `${r.version} ${r.status}`}); release ${v} there first`,
        };
    }
    if (r.image !== source.stable.image) {
        return {
            action: "refuse",
            reason:
                `stack ${from} completed a release of ${v} with image ${r.image ?? "?"}, but its stable runs ` +
                `${source.stable.image}: promote only the artifact that was judged (release it on ${from} again)`,
        };
    }
    if (target === undefined) {
        return { action: "refuse", reason: `stack ${to} does not exist or was never deployed: deploy it first` };
    }
    if (target.stable.version === v && target.stable.image === source.stable.image) {
        return { action: "no-op", reason: `stack ${to} already runs ${v} (${target.stable.image}); nothing to do` };
    }
    if (target.release.status === "in-progress") {
        return {
            action: "refuse",
            reason: `stack ${to} has a release of ${target.release.version ?? "?"} in progress; resume or finish it first`,
        };
    }
    // The same artifact the source released: its image reference, pinned by digest when the source pinned it.
    return { action: "release", image: source.stable.image, version: v };
}

/** Reads a stack's promotion outputs; undefined when the stack does not exist or has no outputs yet. */
export type StateReader = (stack: string) => Promise<PromotionState | undefined>;

export interface PromoteOptions {
    from: string;
    to: string;
    /** Version to promote; defaults to what the source runs. */
    version?: string;
    /** The source release's report, when the caller found it (linked from the promotion's audit trail). */
    sourceReport?: { report?: string };
    /** Passed to the release bot on the target. */
    release?: Omit<ReleaseOptions, "image" | "version" | "resume">;
}

export interface PromotionResult {
    decision: PromotionDecision;
    /** The target's release, when one ran. */
    release?: ReleaseResult;
}

/** Decides, then (when allowed) runs the release bot on the target stack. */
export async function promote(
    opts: PromoteOptions,
    deps: { readState: StateReader; target: StackDriver } & Omit<ReleaseDeps, "stack">,
): Promise<PromotionResult> {
    if (opts.from === opts.to) {
        return { decision: { action: "refuse", reason: "--from and --to name the same stack" } };
    }
    const [source, target] = await Promise.all([deps.readState(opts.from), deps.readState(opts.to)]);
    const decision = decidePromotion(opts.from, opts.to, source, target, opts.version);
    if (decision.action !== "release") {
        return { decision };
    }
    const { image, version } = decision;
    const gates = checkPromotionGates(
        { from: opts.from, to: opts.to, version, image },
        source!,
        target!,
        await targetGates(deps.target),
        (deps.clock ?? systemClock).now(),
    );
    if ("refuse" in gates) {
        const soak = gates.soakLeftMs === undefined ? {} : { soakLeftMs: gates.soakLeftMs };
        return { decision: { action: "refuse", reason: gates.refuse, ...soak } };
    }
    const promotion = { ...gates.audit, source: { ...gates.audit.source, ...opts.sourceReport } };
    const release = await runRelease(
        { ...(opts.release ?? {}), image, version, promotion: { from: opts.from, approval: gates.audit.approval } },
        { ...deps, stack: deps.target },
    );
    return { decision, release: { ...release, promotion } };
}

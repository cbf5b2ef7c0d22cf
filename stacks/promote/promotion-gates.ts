/**
 * Promotion gates (what Kargo gives its users between stages), asked by the target environment in its own stack
 * config: a soak time (the version must have run as stable on the source this long since its release completed
 * there, as recorded in the source's release state and stack history) and an approval of each version, recorded
 * on the target with who and when (`npm run promote -- --approve --to prod --version v2`). What was checked is
 * kept as the promotion's audit trail, for its report.
 */
import { durationMs, parsePolicy } from "../../config/policy";
import { ConfigError } from "../../config/reader";
import {
    ACTIVE_STATUSES,
    APPROVER,
    APPROVER_ACCEPTS,
    PromotionApproval,
    ReleaseState,
    STATE_KEYS,
} from "../../config/release-state";
import { TrackValues } from "../../components/canary-release-args";
import { sameImage } from "../../components/validation";
import { StackDriver } from "../automation/driver";
import { Clock } from "../release/clock";
import { recordInStack } from "../release/recording";
import { PreflightError, PromotionAudit } from "../release/result";

/** What a stack exports for promotion (see index.ts: `stable` and `release`). */
export interface PromotionState {
    stable: TrackValues & { digest?: string };
    release: ReleaseState;
}

/** The promotion state in a stack's outputs; undefined when the stack was never deployed. */
export function promotionState(outputs: Record<string, unknown> | undefined): PromotionState | undefined {
    const stable = outputs?.stable as PromotionState["stable"] | undefined;
    if (stable === undefined) {
        return undefined;
    }
    return { stable, release: (outputs?.release as ReleaseState | undefined) ?? { status: "idle" } };
}

/** When the source's release completed ("completed <ISO>" in its release message); undefined when unknown. */
export function completedAt(source: PromotionState): Date | undefined {
    const m = source.release.message?.match(/^completed (\d{4}-\d\d-\d\dT[\d:.]+Z)$/);
    return m ? new Date(m[1]) : undefined;
}

/** "3h12m", "45m", "20s": a duration for people. */
export function humanDuration(ms: number): string {
    const s = Math.max(0, Math.ceil(ms / 1000));
    const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
    // Seconds only under an hour.
    const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, d === 0 && h === 0 && s % 60 ? `${s % 60}s` : 0];
    return parts.filter(Boolean).join("") || "0s";
}

/** The target's promotion policy: its soak time and whether each version needs an approval there. */
export async function targetGates(target: StackDriver): Promise<{ soak?: string; requireApproval: boolean }> {
    const { values, secretKeys } = await target.getConfig();
    try {
        const p = parsePolicy(values, secretKeys);
        return { soak: p.promotionSoakTime, requireApproval: p.promotionRequireApproval };
    } catch (e) {
        throw e instanceof ConfigError
            ? new PreflightError(`the release policy of ${target.name} is invalid:\n${e.message}`)
            : e;
    }
}

/**
 * Checks the target's promotion gates for `version`, completed on the source: the audit trail when they pass,
 * the reason (how long is left, which command approves) when not.
 */
export function checkPromotionGates(
    o: { from: string; to: string; version: string; image: string },
    source: PromotionState,
    target: PromotionState,
    gates: { soak?: string; requireApproval: boolean },
    now: Date,
): { audit: PromotionAudit } | { refuse: string; soakLeftMs?: number } {
    const done = completedAt(source);
    const audit: PromotionAudit = {
        ...o,
        decidedAt: now.toISOString(),
        source: {
            ...(done ? { completedAt: done.toISOString() } : {}),
            gateDecisions: (source.release.approvals ?? []).filter((a) => a.version === o.version),
        },
    };
    if (gates.soak !== undefined) {
        const need = durationMs(gates.soak);
        if (done === undefined) {
            return {
                refuse:
                    `stack ${o.to} asks for a promotionSoakTime of ${gates.soak}, but the completion time of ${o.version} ` +
                    `on stack ${o.from} is not recorded (releaseMessage "${source.release.message ?? ""}")`,
            };
        }
        const ran = now.getTime() - done.getTime();
        if (ran < need) {
            return {
                refuse:
                    `${o.version} has run as stable on stack ${o.from} for ${humanDuration(ran)} (since ${done.toISOString()}); ` +
                    `stack ${o.to} asks for ${gates.soak} (promotionSoakTime): ${humanDuration(need - ran)} left`,
                soakLeftMs: need - ran,
            };
        }
        audit.soak = { required: gates.soak, ran: humanDuration(ran) };
    }
    if (gates.requireApproval) {
        const a = target.release.promotionApproval;
        const why = approvalProblem(a, o);
        if (why !== undefined) {
            return {
                refuse:
                    `stack ${o.to} needs an approval of each version before promotion (promotionRequireApproval), and ` +
                    `${why}: ${approveCommand(o)}`,
            };
        }
        audit.approval = a;
    }
    return { audit };
}

/** The command that approves `version` for promotion from `from` to `to` (the image is read from `from`). */
export function approveCommand(o: { from: string; to: string; version: string }): string {
    return `npm run promote -- --approve --from ${o.from} --to ${o.to} --version ${o.version}`;
}

/**
 * Why the approval `a` recorded on the target does not let `o.version` (image `o.image`) through, or undefined when
 * it does: an approval is for one version and one image (its digest when pinned), and is used once.
 */
function approvalProblem(
    a: PromotionApproval | undefined,
    o: { from: string; version: string; image: string },
): string | undefined {
    if (a?.version !== o.version) {
        return `${o.version} has none${a ? ` (the approval recorded is for ${a.version})` : ""}`;
    }
    const given = `the approval of ${o.version} (by ${a.by} at ${a.at})`;
    if (a.usedAt !== undefined) {
        return `${given} was used by the promotion from stack ${a.usedFrom ?? "?"} at ${a.usedAt}: an approval is used once`;
    }
    if (a.image === undefined) {
        return `${given} names no image (recorded before approvals named one)`;
    }
    if (!sameImage(a.image, o.image)) {
        return `${given} is for the image ${a.image}, but stack ${o.from} runs ${o.image} (another build of ${o.version}?)`;
    }
    return undefined;
}

/**
 * `promote --approve`: records on the target that `version` may be promoted there (who, when), by an update that
 * changes no resource, so it shows in `pulumi stack history`. Refused while a release is under way there.
 */
export async function approvePromotion(
    o: { to: string; version: string; image: string; by: string },
    deps: { target: StackDriver; clock: Clock; engineOutput?: (line: string) => void },
): Promise<PromotionApproval> {
    if (!APPROVER.test(o.by)) {
        throw new PreflightError(`--by must be ${APPROVER_ACCEPTS}; got "${o.by}"`);
    }
    const approval: PromotionApproval = {
        version: o.version,
        image: o.image,
        by: o.by,
        at: deps.clock.now().toISOString(),
    };
    await recordInStack(deps.target, {
        message: `promotion of ${o.version} (${o.image}) to ${o.to} approved by ${o.by}`,
        engineOutput: deps.engineOutput,
        changes: (values) => {
            const status = values[STATE_KEYS.status];
            if ((ACTIVE_STATUSES as readonly (string | undefined)[]).includes(status)) {
                throw new PreflightError(
                    `stack ${o.to} has a release of ${values[STATE_KEYS.version] ?? "?"} under way (${status}); ` +
                        "approve the promotion after it ends",
                );
            }
            return { [STATE_KEYS.promotionApproval]: JSON.stringify(approval) };
        },
    });
    return approval;
}

/**
 * The image `promote --approve` approves: what the source stack runs as `version` (read from its outputs), or
 * `--image`; with both, they must name the same artifact. Throws {@link PreflightError} with the reason.
 */
export function approvedImage(
    o: { from?: string; version: string; image?: string },
    source: PromotionState | undefined,
): string {
    if (o.from === undefined) {
        return o.image!;
    }
    if (source === undefined) {
        throw new PreflightError(
            `stack ${o.from} does not exist or was never deployed: no image of ${o.version} to approve`,
        );
    }
    const { image, version } = source.stable;
    if (version !== o.version) {
        throw new PreflightError(
            `stack ${o.from} runs ${version} (${image}), not ${o.version}: approve the version it runs, or name the ` +
                "image with --image",
        );
    }
    if (o.image !== undefined && !sameImage(o.image, image)) {
        throw new PreflightError(
            `--image ${o.image} is not what stack ${o.from} runs as ${o.version} (${image}): an approval is for the ` +
                "image that will be promoted",
        );
    }
    return image;
}

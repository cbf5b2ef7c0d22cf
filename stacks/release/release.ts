/**
 * The release bot: steps a canary through its weights, judges it on Prometheus metrics, rolls back or completes.
 *
 * Every state change is a stack config change followed by `pulumi up`, so `pulumi stack history` tells the story
 * and a crashed bot resumes from the stack config. Time and the stack are injected: unit tests run the whole state
 * machine with a fake clock and an in-memory stack.
 */
import { parseConfig, parseReleaseConfig, ReleasePhase, ReleasePolicy } from "../../components/config";
import { Analysis, analyse, buildChecks, CanaryTarget, describeCheck } from "./analysis";
import { MetricsSource, PrometheusClient } from "./prometheus";
import { StackDriver, StackLockedError, UpSummary } from "./stack";
import { durationMs, IMAGE_ACCEPTS, IMAGE_REF, LABEL_VALUE, VERSION_ACCEPTS } from "../../components/validation";

/** Sleeps and tells the time; a fake in tests. */
export interface Clock {
    now(): Date;
    sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What to release and how. */
export interface ReleaseOptions {
    /** Image of the new version; required unless resuming. */
    image?: string;
    /** Version label; defaults to the image tag. */
    version?: string;
    /** Continue the release in progress from the weight in stack config. */
    resume?: boolean;
    /**
     * Policy overrides (e.g. from command-line flags) over the stack's release policy. Every key present
     * overrides, `undefined` included (it turns an optional check such as minSuccessRate off).
     */
    policy?: Partial<ReleasePolicy>;
    /** Roll back with a targeted update of the VirtualService first (faster), then a full update. Defaults to true. */
    targetedRollback?: boolean;
    /**
     * Walk the plan without waiting or analysing; the stack driver previews instead of updating (see
     * automation.ts), so nothing changes. Defaults to false.
     */
    dryRun?: boolean;
}

/** How a release ended. */
export type Outcome = "completed" | "rolled-back" | "rollback-failed" | "paused" | "no-op";

/** One entry of the release's story. */
export interface ReleaseEvent {
    time: string;
    kind: "start" | "shift" | "analysis" | "rollback" | "complete" | "error" | "resume";
    phase?: ReleasePhase;
    weight: number;
    message: string;
    verdict?: Analysis["verdict"];
    checks?: Analysis["checks"];
    durationMs?: number;
    changes?: Record<string, number>;
}

/** The result: also what the report is written from. */
export interface ReleaseResult {
    stack: string;
    image: string;
    version: string;
    outcome: Outcome;
    reason: string;
    startedAt: string;
    finishedAt: string;
    policy: Omit<ReleasePolicy, "prometheusPassword" | "prometheusToken">;
    events: ReleaseEvent[];
    /** Exact commands to finish by hand, when the bot could not (rollback failed, stack locked). */
    manualSteps?: string[];
    /** A dry run: every step was previewed, nothing changed. */
    dryRun?: boolean;
}

/**
 * Exit code for an outcome: 0 completed or nothing to do, 1 rolled back, 3 rollback failed, 4 paused.
 * (2 is a usage or preflight error and 5 a crash; see the command-line tools.)
 */
export function exitCode(outcome: Outcome): number {
    return { completed: 0, "no-op": 0, "rolled-back": 1, "rollback-failed": 3, paused: 4 }[outcome];
}

/** A problem found before anything changed (bad options, release in progress, Prometheus down). */
export class PreflightError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PreflightError";
    }
}

/** A stage of the plan: a config change, then analyses until it passes. */
interface Stage {
    phase: ReleasePhase;
    weight: number;
    config: Record<string, string | undefined>;
}

/**
 * The stages of a release: optional mirror phase, optional header phase, then each weight step. The mirror phase
 * is the program's doing: while `releasePhase` is "mirror", it mirrors `releaseMirrorPercent` of the traffic to
 * the canary (the user's own `mirrorPercent` is never touched).
 */
export function planStages(policy: ReleasePolicy): Stage[] {
    const stages: Stage[] = [];
    if (policy.mirrorPercent > 0) {
        stages.push({ phase: "mirror", weight: 0, config: { canaryWeight: "0", releasePhase: "mirror" } });
    }
    if (policy.headerPhase) {
        stages.push({ phase: "header", weight: 0, config: { canaryWeight: "0", releasePhase: "header" } });
    }
    for (const w of policy.steps) {
        stages.push({ phase: "steps", weight: w, config: { canaryWeight: String(w), releasePhase: "steps" } });
    }
    return stages;
}

/**
 * Where a resumed release picks up: the stage it was in (its config is applied again: the same weight, so no
 * traffic moves, and the stack converges on it), analysed again; a weight that is no longer a step of the policy
 * becomes a stage of its own. A "steps" release at weight 0 had not shifted yet: it starts with the first stage.
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
    const own: Stage = { phase, weight, config: { canaryWeight: String(weight), releasePhase: phase } };
    return [own, ...stages.filter((s) => s.phase === "steps" && s.weight > weight)];
}

/** The tag of an image reference ("reg/app:1.2" -> "1.2"), or undefined. */
export function imageTag(image: string): string | undefined {
    const noDigest = image.split("@")[0];
    const lastSlash = noDigest.lastIndexOf("/");
    const colon = noDigest.indexOf(":", lastSlash + 1);
    return colon === -1 ? undefined : noDigest.slice(colon + 1);
}

export interface ReleaseDeps {
    stack: StackDriver;
    /** Where metrics come from. Defaults to a Prometheus client built from the policy's prometheus* settings. */
    metrics?: MetricsSource;
    clock?: Clock;
    /** One line per event (default: stdout). */
    log?: (line: string) => void;
    /** Engine output of each update (default: dropped). */
    engineOutput?: (line: string) => void;
}

/** Runs a release to its end. Throws {@link PreflightError} (nothing changed) or returns the result. */
export async function runRelease(opts: ReleaseOptions, deps: ReleaseDeps): Promise<ReleaseResult> {
    const clock = deps.clock ?? systemClock;
    const log = deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const { stack } = deps;
    const startedAt = clock.now().toISOString();

    // ---- preflight: nothing changes before it passes
    const { values: cfg, secretKeys } = await stack.getConfig();
    let parsed;
    try {
        parsed = parseReleaseConfig(cfg, secretKeys);
        // The whole program config too: an `up` that cannot even start must not be found out mid-release.
        parseConfig(cfg, secretKeys);
    } catch (e) {
        throw new PreflightError(`the stack config of ${stack.name} is invalid:\n${(e as Error).message}`);
    }
    const policy: ReleasePolicy = { ...parsed.policy, ...(opts.policy ?? {}) };
    const state = parsed.state;
    const app = cfg.app;
    if (policy.headerPhase && cfg.canaryHeader === undefined) {
        throw new PreflightError(
            "the header phase needs canaryHeader in stack config (e.g. `pulumi config set canaryHeader x-canary`)",
        );
    }
    const interval = durationMs(policy.interval) ?? 60_000;
    const target: CanaryTarget = { namespace: cfg.namespace ?? app, workload: `${app}-canary` };
    const checks = buildChecks(policy, target);
    if (checks.length === 0) {
        throw new PreflightError(
            "no health checks: keep releaseMinSuccessRate or releaseMaxLatencyMs above 0, or add releaseChecks " +
                "(a minimum request count alone says nothing about health)",
        );
    }

    let image: string;
    let version: string;
    if (opts.resume) {
        if (state.status !== "in-progress" || state.image === undefined || state.version === undefined) {
            throw new PreflightError(
                `nothing to resume on stack ${stack.name}: releaseStatus is "${state.status}", not "in-progress"`,
            );
        }
        if (opts.image !== undefined && opts.image !== state.image) {
            throw new PreflightError(
                `--image ${opts.image} does not match the release in progress (${state.image}); omit --image to resume it`,
            );
        }
        image = state.image;
        version = state.version;
    } else {
        if (state.status === "in-progress") {
            throw new PreflightError(
                `a release is already in progress on stack ${stack.name}: ${state.version ?? "?"} at canaryWeight ` +
                    `${cfg.canaryWeight ?? "0"}. Resume it with --resume (only if no other bot is running it).`,
            );
        }
        if (opts.image === undefined) {
            throw new PreflightError("--image is required to start a release");
        }
        image = opts.image;
        if (!IMAGE_REF.test(image)) {
            throw new PreflightError(`--image must be ${IMAGE_ACCEPTS}; got "${image}"`);
        }
        const v = opts.version ?? imageTag(image);
        if (v === undefined) {
            throw new PreflightError(`--version is required: the image ${image} has no tag to take it from`);
        }
        if (!LABEL_VALUE.test(v)) {
            throw new PreflightError(
                `${opts.version === undefined ? "the image tag (the default --version)" : "--version"} must be ${VERSION_ACCEPTS}; got "${v}"`,
            );
        }
        version = v;
    }
    if (deps.metrics === undefined && policy.prometheusUrl === undefined) {
        throw new PreflightError(
            "no Prometheus to judge the canary: set prometheusUrl in stack config or pass --prometheus-url",
        );
    }
    const metrics =
        deps.metrics ??
        new PrometheusClient({
            url: policy.prometheusUrl!,
            timeoutMs: durationMs(policy.prometheusTimeout) ?? 10_000,
            token: policy.prometheusToken,
            user: policy.prometheusUser,
            password: policy.prometheusPassword,
        });
    try {
        await metrics.ping();
    } catch (e) {
        throw new PreflightError(
            `Prometheus is not reachable, so the canary cannot be judged: ${(e as Error).message}`,
        );
    }

    // What stable ran before this release: a rollback puts it back (a failed completion may have changed it).
    const stableBefore = {
        stableImage: (opts.resume ? state.previousImage : undefined) ?? cfg.stableImage,
        stableVersion: (opts.resume ? state.previousVersion : undefined) ?? cfg.stableVersion,
    };
    const events: ReleaseEvent[] = [];
    let weight = Number(cfg.canaryWeight ?? "0");
    let phase: ReleasePhase | undefined = opts.resume ? (state.phase ?? "steps") : undefined;
    const current: Record<string, string | undefined> = { ...cfg };
    const record = (e: Omit<ReleaseEvent, "time" | "weight" | "phase">) => {
        const event: ReleaseEvent = { time: clock.now().toISOString(), weight, phase, ...e };
        events.push(event);
        log(`${event.time}  ${(phase ?? "-").padEnd(6)} weight ${String(weight).padStart(3)}  ${event.message}`);
    };
    const finish = (outcome: Outcome, reason: string, manualSteps?: string[]): ReleaseResult => {
        const { prometheusPassword: _p, prometheusToken: _t, ...publicPolicy } = policy;
        return {
            stack: stack.name,
            image,
            version,
            outcome,
            reason,
            startedAt,
            finishedAt: clock.now().toISOString(),
            policy: publicPolicy,
            events,
            ...(manualSteps ? { manualSteps } : {}),
        };
    };
    const rerun = `npm run release -- --stack ${stack.name} --resume`;
    const paused = (where: string, e: Error) =>
        finish("paused", `stack locked by another update ${where}: ${e.message}`, [
            `wait for the other update, then: ${rerun}`,
            `if no update is running (one was killed), release its lock: pulumi cancel --stack ${stack.name} --yes`,
        ]);

    /**
     * Sets config, then runs `up`. On a lock the config is put back (with `restoreOnLock`), so the stack is as it
     * was; a rollback keeps its config, so that any later `up` finishes it.
     */
    const apply = async (
        changes: Record<string, string | undefined>,
        what: string,
        o: { targets?: string[]; restoreOnLock?: boolean } = {},
    ): Promise<UpSummary> => {
        const before = Object.fromEntries(Object.keys(changes).map((k) => [k, current[k]]));
        await stack.setConfig(changes);
        Object.assign(current, changes);
        try {
            return await stack.up({
                targets: o.targets,
                onOutput: deps.engineOutput,
                message: `release ${version}: ${what}`,
            });
        } catch (e) {
            if (e instanceof StackLockedError && (o.restoreOnLock ?? true)) {
                await stack.setConfig(before);
                Object.assign(current, before);
            }
            throw e;
        }
    };

    /** Traffic off the canary first (a targeted update of the VirtualService), then a full update. */
    const rollback = async (reason: string): Promise<ReleaseResult> => {
        const t0 = Date.now();
        record({ kind: "rollback", message: `rolling back: ${reason}` });
        const urn = (opts.targetedRollback ?? true) ? await stack.routingUrn().catch(() => undefined) : undefined;
        const routeOff = {
            ...stableBefore,
            canaryWeight: "0",
            releaseStatus: "rolled-back",
            releasePhase: undefined,
            releaseMessage: truncate(reason),
        };
        try {
            const s = await apply(routeOff, "rollback (routing)", {
                targets: urn ? [urn] : undefined,
                restoreOnLock: false,
            });
            weight = 0;
            phase = undefined;
            record({
                kind: "rollback",
                message: `traffic back on stable (${urn ? "targeted update of the VirtualService" : "full update"})`,
                durationMs: Date.now() - t0,
                changes: s.resourceChanges,
            });
        } catch (e) {
            const steps = [
                `pulumi config set canaryWeight 0 --stack ${stack.name}`,
                `pulumi config rm releasePhase --stack ${stack.name}`,
                urn
                    ? `pulumi up --stack ${stack.name} --yes --target '${urn}'`
                    : `pulumi up --stack ${stack.name} --yes`,
                `pulumi up --stack ${stack.name} --yes`,
            ];
            if (e instanceof StackLockedError) {
                steps.unshift(
                    `wait for the update holding the lock, or release it: pulumi cancel --stack ${stack.name} --yes`,
                );
            }
            record({ kind: "error", message: `ROLLBACK FAILED: ${firstLine((e as Error).message)}` });
            log("!!! ROLLBACK FAILED: traffic may still reach the canary. Finish it by hand:");
            steps.forEach((s) => log(`!!!   ${s}`));
            return finish("rollback-failed", `rollback failed after: ${reason}`, steps);
        }
        try {
            const s = await apply({ canaryImage: undefined, canaryVersion: undefined }, "rollback (canary to stable)", {
                restoreOnLock: false,
            });
            record({
                kind: "rollback",
                message: "canary track back on the stable version",
                changes: s.resourceChanges,
            });
        } catch (e) {
            // Traffic is already on stable; the rest converges on the next `pulumi up`.
            record({
                kind: "error",
                message: `canary cleanup failed (traffic is on stable; run pulumi up): ${firstLine((e as Error).message)}`,
            });
        }
        return finish("rolled-back", reason);
    };

    // ---- start or resume
    let stages = planStages(policy);
    try {
        if (opts.resume) {
            record({ kind: "resume", message: `resuming ${version} (${image}) from stack config` });
            stages = resumeStages(stages, phase ?? "steps", weight);
        } else {
            if (current.stableImage === image && current.stableVersion === version) {
                record({
                    kind: "start",
                    message: `stack ${stack.name} already runs ${version} (${image}); nothing to do`,
                });
                return finish("no-op", `already running ${version}`);
            }
            const s = await apply(
                {
                    canaryImage: image,
                    canaryVersion: version,
                    canaryWeight: "0",
                    releaseStatus: "in-progress",
                    releaseVersion: version,
                    releaseImage: image,
                    releasePhase: "steps",
                    releaseMessage: undefined,
                    releasePreviousImage: stableBefore.stableImage,
                    releasePreviousVersion: stableBefore.stableVersion,
                },
                "start: canary deployed at weight 0",
            );
            weight = 0;
            phase = "steps";
            record({
                kind: "start",
                message: `canary ${version} (${image}) deployed at weight 0`,
                changes: s.resourceChanges,
            });
        }
    } catch (e) {
        if (e instanceof StackLockedError) {
            return finish("paused", `stack locked by another update: ${e.message}`, [
                `wait for the other update, then: npm run release -- --stack ${stack.name} ` +
                    `--image ${image}${opts.version !== undefined ? ` --version ${opts.version}` : ""}`,
                `if no update is running (one was killed), release its lock: pulumi cancel --stack ${stack.name} --yes`,
            ]);
        }
        return rollback(`pulumi up failed while starting: ${firstLine((e as Error).message)}`);
    }

    // ---- stages
    let failures = 0;
    for (const stage of stages) {
        try {
            const t0 = Date.now();
            const s = await apply(stage.config, `${stage.phase} ${stage.weight}`);
            weight = stage.weight;
            phase = stage.phase;
            record({
                kind: "shift",
                message: shiftMessage(stage, policy),
                durationMs: Date.now() - t0,
                changes: s.resourceChanges,
            });
        } catch (e) {
            if (e instanceof StackLockedError) {
                return paused(`at weight ${weight}`, e);
            }
            return rollback(`pulumi up failed at ${stage.phase} ${stage.weight}: ${firstLine((e as Error).message)}`);
        }
        if (opts.dryRun) {
            record({
                kind: "analysis",
                verdict: "pass",
                message: `would analyse: ${checks.map((c) => c.name).join(", ")}`,
            });
            continue;
        }
        let held = 0;
        let errors = 0;
        for (;;) {
            await clock.sleep(interval);
            const a = await analyse(metrics, checks, policy, target, held);
            record({
                kind: "analysis",
                verdict: a.verdict,
                checks: a.checks,
                message: `${a.checks.map(describeCheck).join("  ")}  -> ${a.verdict}`,
            });
            if (a.verdict === "error") {
                errors++;
                if (errors >= policy.errorLimit) {
                    return rollback(
                        `${errors} consecutive analyses could not query the metrics (limit ${policy.errorLimit})`,
                    );
                }
                continue;
            }
            errors = 0;
            if (a.verdict === "pass") {
                break;
            }
            if (a.verdict === "hold") {
                held++;
                continue;
            }
            held = 0;
            failures++;
            if (failures >= policy.failureThreshold) {
                return rollback(
                    `${failures} failed analyses (threshold ${policy.failureThreshold}) at ${stage.phase} ${stage.weight}: ` +
                        a.checks
                            .filter((c) => c.verdict !== "pass")
                            .map(describeCheck)
                            .join("; "),
                );
            }
        }
    }

    // ---- complete, in three updates so that no pod set ever serves more than it was sized for:
    // 1. stable rolls to the new version while the canary still serves its share (the route does not change);
    // 2. the route moves to stable (a targeted update: stable is ready, the canary keeps its replicas);
    // 3. a full update records the completion and lets the canary track fall back to the stable version.
    const t0 = Date.now();
    try {
        phase = "complete";
        await apply(
            { stableImage: image, stableVersion: version, releasePhase: "complete" },
            "complete: stable runs the new version",
        );
        record({ kind: "complete", message: `stable rolled out ${version}` });
        const urn = await stack.routingUrn().catch(() => undefined);
        await apply({ canaryWeight: "0" }, "complete: traffic to stable", { targets: urn ? [urn] : undefined });
        weight = 0;
        record({ kind: "complete", message: "traffic on stable" });
        phase = undefined;
        const s = await apply(
            {
                canaryImage: undefined,
                canaryVersion: undefined,
                releaseStatus: "completed",
                releasePhase: undefined,
                releaseMessage: `completed ${clock.now().toISOString()}`,
            },
            "complete: recorded",
        );
        record({
            kind: "complete",
            message: `all traffic on stable ${version}; canary weight 0`,
            durationMs: Date.now() - t0,
            changes: s.resourceChanges,
        });
    } catch (e) {
        if (e instanceof StackLockedError) {
            return paused("while completing", e);
        }
        return rollback(`pulumi up failed while completing: ${firstLine((e as Error).message)}`);
    }
    return finish("completed", `all steps passed; stable runs ${version}`);
}

function shiftMessage(stage: Stage, policy: ReleasePolicy): string {
    switch (stage.phase) {
        case "mirror":
            return `mirror phase: ${policy.mirrorPercent}% of traffic mirrored to the canary`;
        case "header":
            return "header phase: only requests with the canary header reach the canary";
        default:
            return `shifted: stable ${100 - stage.weight} / canary ${stage.weight}`;
    }
}

function firstLine(text: string): string {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const err = lines.find((l) => /error/i.test(l));
    return (err ?? lines[0] ?? text).trim().slice(0, 400);
}

function truncate(text: string): string {
    return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

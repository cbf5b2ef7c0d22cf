/**
 * What every step of a release shares: the stack, the clock, the log, the story so far, the lease, and the
 * release as stack config holds it. A step changes the release only through {@link ReleaseRun.transition}: a
 * typed transition of config/release-state.ts, written (after the lease is compared) as a config change, then
 * previewed with a saved plan and checked, then applied with exactly that plan.
 */
import { PolicyTimes, ReleasePolicy } from "../../config/policy";
import {
    ConfigChanges,
    configChanges,
    GateDecisionKind,
    PROTOCOL_KEYS,
    ReleasePhase,
    ReleaseView,
    RollbackCause,
    STATE_KEYS,
} from "../../config/release-state";
import { firstLine, PlanMismatchError, StackDriver, StackLockedError, UpSummary } from "../automation/driver";
import { RouteTarget, RoutingControl } from "../automation/routing-patch";
import { CanaryTarget, Check } from "./analysis";
import { Clock, systemClock } from "./clock";
import { PlanGuardError, planViolations, StepKind } from "./guard";
import { HookClient, PayloadBase } from "./hooks";
import { HEARTBEAT_MS, LeaseIdentity, LeaseLostError, leaseChanges, restoreIfOurs } from "./lease";
import { ConfigSource } from "./origin";
import { MetricsSource } from "./prometheus";
import { Outcome, publicPolicy, ReleaseEvent, ReleaseResult } from "./result";

export { type Clock, systemClock } from "./clock";

/** What to release and how. */
export interface ReleaseOptions {
    /** Image of the new version; required unless resuming. */
    image?: string;
    /** Version label; defaults to the image tag. */
    version?: string;
    /** Continue the release in progress (or the rollback in progress) from the deployed state. */
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
     * stacks/automation/local-stack.ts), so nothing changes. Defaults to false.
     */
    dryRun?: boolean;
    /** When the checkout's config and the deployed one disagree on a decisive key: which side wins. */
    configFrom?: ConfigSource;
    /** Take the release lease even from a bot that still seems to hold it (only when it is known to be gone). */
    takeOver?: boolean;
    /** Policy packs (directories) run on every preview and update. */
    policyPacks?: string[];
    /**
     * A person's decision at the gate the release waits at (implies resume): approve continues the release, abort
     * rolls it back (from any state). With a bot waiting at the gate (`waitForApprovalMs`), it is only recorded.
     */
    decision?: { kind: GateDecisionKind; by: string; gate?: string };
    /** At a gate: wait this long in this process for a decision (recorded by another process) before stopping. */
    waitForApprovalMs?: number;
}

export interface ReleaseDeps {
    stack: StackDriver;
    /** Direct access to the live routes, for `releaseRollback: fast`; without it the bot rolls back by update. */
    routing?: RoutingControl;
    /** Where metrics come from. Defaults to a Prometheus client built from the policy's prometheus* settings. */
    metrics?: MetricsSource;
    clock?: Clock;
    /** One line per event (default: stdout). */
    log?: (line: string) => void;
    /** Engine output of each update (default: dropped). */
    engineOutput?: (line: string) => void;
    /** Aborted on SIGTERM/SIGINT: the bot stops waiting, leaves the release resumable and reports. */
    signal?: AbortSignal;
    /** Who this bot is for the lease (default: this process). */
    identity?: LeaseIdentity;
}

/** Where a release's lines go: `deps.log`, or stdout. */
export function logOf(deps: Pick<ReleaseDeps, "log">): (line: string) => void {
    return deps.log ?? ((line) => process.stdout.write(`${line}\n`));
}

/** What preflight established. */
export interface Prepared {
    policy: ReleasePolicy;
    image: string;
    version: string;
    /** The release as stack config holds it now (the lease is this bot's). */
    view: ReleaseView;
    /** The stack's config values as read (our keys, without the namespace). */
    config: Record<string, string>;
    /** The protocol keys as deployed when preflight ran. */
    deployed: Record<string, string | undefined>;
    checks: Check[];
    target: CanaryTarget;
    /** The app, and the header that routes a request to the canary (for hooks and load). */
    app: string;
    /** The release's VirtualService, and the mirror the program routes once no release is in its mirror phase. */
    routes: { virtualService: RouteTarget; userMirrorPercent: number };
    canaryHeader?: { name: string; value: string };
    metrics: MetricsSource;
    /** The policy's waits and timeouts, in ms. */
    times: PolicyTimes;
    identity: LeaseIdentity;
}

/** What the next step of a release is. */
export type Next =
    | { kind: "continue" }
    | { kind: "rollback"; reason: string; cause: RollbackCause }
    | { kind: "finish"; result: ReleaseResult };

/** How a release ends: a result, or a rollback to run. */
export type End = Exclude<Next, { kind: "continue" }>;

export const CONTINUE: Next = { kind: "continue" };

/** Options of one transition. */
export interface TransitionOptions {
    targets?: string[];
    /** Put the config back when the stack is locked (default true; a rollback keeps its config). */
    restoreOnLock?: boolean;
    /** Preview with a saved plan, check it for this kind of step, and apply exactly that plan. */
    guard?: StepKind;
}

/** One release in progress: its context, its story and its position. */
export class ReleaseRun {
    readonly events: ReleaseEvent[] = [];
    readonly clock: Clock;
    readonly startedAt: string;
    /** The release as stack config holds it (updated when config is written). */
    view: ReleaseView;
    /** The raw config values the bot knows of (updated when config is written). */
    private readonly config: Record<string, string | undefined>;
    /** The protocol keys of the last update this bot ran (or, before it, as deployed at preflight). */
    deployed: Record<string, string | undefined>;
    /** Where traffic is: the weight and phase of the last update that succeeded. */
    weight: number;
    phase: ReleasePhase | undefined;
    /** Failed analyses so far, over every stage. */
    failures = 0;
    /** The policy's webhooks; every call is kept for the report. */
    readonly hooks: HookClient;

    constructor(
        readonly opts: ReleaseOptions,
        readonly deps: ReleaseDeps,
        readonly prepared: Prepared,
    ) {
        this.clock = deps.clock ?? systemClock;
        this.startedAt = this.clock.now().toISOString();
        this.view = prepared.view;
        this.config = { ...prepared.config };
        this.deployed = { ...prepared.deployed };
        this.weight = Number(prepared.deployed.canaryWeight ?? prepared.view.canaryWeight);
        this.phase = opts.resume ? (prepared.view.state.phase ?? "steps") : undefined;
        // A dry run changes nothing and tells no one: no hook is called.
        const hooks = opts.dryRun ? [] : prepared.policy.hooks;
        this.hooks = new HookClient(hooks, prepared.policy.hookSecret, this.clock, deps.signal);
    }

    get stack(): StackDriver {
        return this.deps.stack;
    }

    get policy(): ReleasePolicy {
        return this.prepared.policy;
    }

    get me(): string {
        return this.prepared.identity.id;
    }

    /** True once SIGTERM/SIGINT arrived. */
    get interrupted(): boolean {
        return this.deps.signal?.aborted ?? false;
    }

    /** Whether the canary receives traffic now (a weight, or a mirror or header phase). */
    get trafficMoved(): boolean {
        return this.weight > 0 || this.phase === "mirror" || this.phase === "header";
    }

    /** Adds an event to the story and logs it. */
    record(e: Omit<ReleaseEvent, "time" | "weight" | "phase">): void {
        const event: ReleaseEvent = {
            time: this.clock.now().toISOString(),
            weight: this.weight,
            phase: this.phase,
            ...e,
        };
        this.events.push(event);
        this.hooks.notify(this.hookBase({ event: { kind: event.kind, message: event.message } }));
        this.log(
            `${event.time}  ${(this.phase ?? "-").padEnd(6)} weight ${String(this.weight).padStart(3)}  ${event.message}`,
        );
    }

    /** What every hook call says about the release now (the checks of the last analysis included). */
    hookBase(extra: Partial<PayloadBase> = {}): PayloadBase {
        const { app, target, canaryHeader, image, version } = this.prepared;
        const last = [...this.events].reverse().find((e) => e.checks !== undefined)?.checks ?? [];
        return {
            stack: this.stack.name,
            app,
            namespace: target.namespace,
            version,
            image,
            phase: this.phase,
            weight: this.weight,
            ...(canaryHeader ? { canaryHeader } : {}),
            checks: last.map(({ name, value, verdict, min, max, unit }) => ({ name, value, verdict, min, max, unit })),
            ...extra,
        };
    }

    log(line: string): void {
        logOf(this.deps)(line);
    }

    /** Throws {@link LeaseLostError} unless stack config still names this bot as the release's owner. */
    async checkLease(what: string): Promise<void> {
        const owner = (await this.stack.getConfig()).values[STATE_KEYS.owner];
        if (owner !== this.me) {
            throw new LeaseLostError(owner, what);
        }
    }

    /**
     * Waits `ms` (renewing the lease every heartbeat); returns false when interrupted (SIGTERM/SIGINT).
     */
    async wait(ms: number): Promise<boolean> {
        const until = this.clock.now().getTime() + ms;
        for (;;) {
            const left = until - this.clock.now().getTime();
            if (this.interrupted) {
                return false;
            }
            if (left <= 0) {
                return true;
            }
            await this.clock.sleep(Math.min(left, HEARTBEAT_MS), this.deps.signal);
            if (!this.interrupted && until - this.clock.now().getTime() > 0) {
                await this.checkLease("renewing it");
                await this.write(leaseChanges(this.me, this.clock.now()));
            }
        }
    }

    private async write(changes: ConfigChanges): Promise<void> {
        await this.stack.setConfig(changes);
        Object.assign(this.config, changes);
    }

    /**
     * Compares the lease, writes the config of `to` (with the lease renewed), then runs `up`; with `guard`, first
     * previews with a saved plan, refuses changes the step may not make, and applies exactly that plan. When
     * nothing was applied (a lock, a refused plan), the config is put back where it is still what this bot wrote
     * (`restoreOnLock`; a rollback keeps its config, so that any later `up` finishes it).
     */
    async transition(to: ReleaseView, what: string, o: TransitionOptions = {}): Promise<UpSummary> {
        await this.checkLease(what);
        const from = this.view;
        const renewed =
            to.state.owner === undefined
                ? to
                : {
                      ...to,
                      state: { ...to.state, leaseExpires: leaseChanges(this.me, this.clock.now()).releaseLeaseExpires },
                  };
        const changes = configChanges(from, renewed);
        const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, this.config[k]]));
        await this.write(changes);
        this.view = renewed;
        const putBack = async () => {
            await restoreIfOurs(this.stack, before, changes);
            Object.assign(this.config, before);
            this.view = from;
        };
        const common = {
            targets: o.targets,
            onOutput: this.deps.engineOutput,
            ...policyPacks(this.opts.policyPacks, this.policy),
        };
        let plan: string | undefined;
        if (o.guard !== undefined) {
            const preview = await this.stack.preview({ ...common, savePlan: true });
            const violations = planViolations(o.guard, preview.changes);
            if (violations.length > 0) {
                await putBack();
                throw new PlanGuardError(violations);
            }
            plan = preview.plan;
        }
        try {
            const summary = await this.stack.up({
                ...common,
                plan,
                message: `release ${this.prepared.version}: ${what}`,
            });
            this.weight = renewed.canaryWeight;
            this.phase = renewed.state.status === "in-progress" ? renewed.state.phase : undefined;
            this.deployed = Object.fromEntries(PROTOCOL_KEYS.map((k) => [k, this.config[k]]));
            return summary;
        } catch (e) {
            if ((e instanceof StackLockedError && (o.restoreOnLock ?? true)) || e instanceof PlanMismatchError) {
                await putBack();
            }
            throw e;
        }
    }

    /** Lets go of the lease (where stack config still holds this bot's), so another bot may resume. */
    async letGo(): Promise<void> {
        const current = (await this.stack.getConfig()).values;
        if (current[STATE_KEYS.owner] === this.me) {
            await this.write({ [STATE_KEYS.owner]: undefined, [STATE_KEYS.leaseExpires]: undefined });
        }
    }

    /** The result of the release. */
    finish(outcome: Outcome, reason: string, extra: Partial<ReleaseResult> = {}): ReleaseResult {
        return {
            stack: this.stack.name,
            image: this.prepared.image,
            version: this.prepared.version,
            outcome,
            reason,
            startedAt: this.startedAt,
            finishedAt: this.clock.now().toISOString(),
            policy: publicPolicy(this.policy),
            events: this.events,
            ...(this.view.state.approvals ? { approvals: this.view.state.approvals } : {}),
            ...extra,
        };
    }

    /** Stops without rolling back (the release stays resumable): paused, or interrupted. */
    async stop(
        outcome: "paused" | "interrupted" | "awaiting-approval",
        reason: string,
        manualSteps?: string[],
    ): Promise<End> {
        this.record({ kind: "stop", message: `${outcome}: ${reason}` });
        await this.letGo().catch(() => undefined);
        const steps = manualSteps ?? [`npm run release -- --stack ${this.stack.name} --resume`];
        return {
            kind: "finish",
            result: this.finish(outcome, reason, { trafficMoved: this.trafficMoved, manualSteps: steps }),
        };
    }

    /** Paused: another update holds the stack; resume when it is done. */
    paused(where: string, e: Error): Promise<End> {
        return this.stop("paused", `stack locked by another update ${where}: ${e.message}`, [
            `wait for the other update, then: npm run release -- --stack ${this.stack.name} --resume`,
            `if no update is running (one was killed), release its lock: pulumi cancel --stack ${this.stack.name} --yes`,
        ]);
    }

    /** What an error of a transition means for the release: stop (lock, lost lease, refused plan) or roll back. */
    async onTransitionError(e: unknown, where: string): Promise<End> {
        if (e instanceof StackLockedError) {
            return this.paused(where, e);
        }
        if (e instanceof LeaseLostError) {
            this.record({ kind: "stop", message: e.message });
            return { kind: "finish", result: this.finish("paused", e.message, { trafficMoved: this.trafficMoved }) };
        }
        if (e instanceof PlanGuardError || e instanceof PlanMismatchError) {
            return this.stop("paused", `${where}: ${e.message}; nothing was applied`);
        }
        return {
            kind: "rollback",
            reason: `pulumi up failed ${where}: ${firstLine((e as Error).message)}`,
            cause: "update-failed",
        };
    }
}

/** The options' policy packs and the stack's (config key releasePolicyPack), run on every preview and update. */
function policyPacks(packs: string[] = [], p: ReleasePolicy): { policyPacks?: string[]; policyPackConfigs?: string[] } {
    const all = p.policyPack === undefined ? packs : [...packs, p.policyPack];
    return all.length === 0
        ? {}
        : { policyPacks: all, policyPackConfigs: p.policyPackConfig ? [p.policyPackConfig] : undefined };
}

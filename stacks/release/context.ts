/**
 * What every step of a release shares: the options, the stack, the clock, the log, and one {@link ReleaseRun}:
 * the run's story (its events) and its position (where traffic is). The release's state and lease change only
 * through the run's store (store.ts), by typed transitions ({@link ReleaseRun.transition}).
 */
import { redactUrl } from "../../components/redact";
import { PolicyTimes, ReleasePolicy } from "../../config/policy";
import {
    GateDecisionKind,
    PromotionApproval,
    ReleasePhase,
    ReleaseView,
    RollbackCause,
} from "../../config/release-state";
import { firstLine, PlanMismatchError, StackDriver, StackLockedError, UpSummary } from "../automation/driver";
import { RouteTarget, RoutingControl } from "../automation/routing-patch";
import { CanaryTarget, Check } from "./analysis";
import { Clock, systemClock } from "./clock";
import { PlanGuardError } from "./guard";
import { HookClient, PayloadBase } from "./hooks";
import { RunEntry } from "./entry";
import { ReplicaSource } from "../automation/kube-workloads";
import { LeaseApi } from "./kube-lease";
import { HEARTBEAT_MS, LeaseIdentity, LeaseLostError, ReleaseLease } from "./lease";
import { ConfigSource } from "./origin";
import { MetricsSource } from "./prometheus";
import { Outcome, publicPolicy, ReleaseEvent, ReleaseResult, resultOf } from "./result";
import { ReleaseStore, TransitionOptions } from "./store";
import { eventLine, lockedSteps, resumeCommand } from "./wording";

export { type Clock, systemClock } from "./clock";
export { type TransitionOptions } from "./store";

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
    /**
     * A promotion's release (stacks/promote): from which stack, and the target's approval it uses (checked by the
     * promotion gates). Preflight refuses when the stack holds another approval now; the start marks it used.
     */
    promotion?: { from: string; approval?: PromotionApproval };
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
    /**
     * The cluster's Leases: the release lease is then a Kubernetes Lease in the app's namespace (kube-lease.ts),
     * which every runner sees. Without it (library callers, unit tests of the state machine) the lease is kept in
     * stack config, which holds within one checkout only.
     */
    leases?: LeaseApi;
    /**
     * Live replica counts of Deployments. With autoscaling, each update of a release in progress pins the stable's
     * (what its HPA chose) in stack config (`releaseStableReplicas`): the canary HPA's minimum is the weight's share
     * of it, and the update's preview, plan and update agree on it. Without it the program reads it live.
     */
    workloads?: ReplicaSource;
}

/** Where a release's lines go: `deps.log`, or stdout; never with a URL's credentials (a line may quote one). */
export function logOf(deps: Pick<ReleaseDeps, "log">): (line: string) => void {
    const write = deps.log ?? ((line) => process.stdout.write(`${line}\n`));
    return (line) => write(redactUrl(line));
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
    /**
     * The release's route objects (its VirtualService, or its two Gateway API routes), and the mirror the program
     * routes once no release is in its mirror phase.
     */
    routes: { targets: RouteTarget[]; userMirrorPercent: number };
    canaryHeader?: { name: string; value: string };
    metrics: MetricsSource;
    /** The policy's waits and timeouts, in ms. */
    times: PolicyTimes;
    /** The release lease, taken by preflight. */
    lease: ReleaseLease;
    /** Where this run enters the release (entry.ts). */
    entry: RunEntry;
    /** With autoscaling and {@link ReleaseDeps.workloads}: reads the stable's live replica count, to pin it. */
    stableReplicas?: () => Promise<number | undefined>;
}

/** What the next step of a release is. */
export type Next =
    | { kind: "continue" }
    | { kind: "rollback"; reason: string; cause: RollbackCause }
    | { kind: "finish"; result: ReleaseResult };

/** How a release ends: a result, or a rollback to run. */
export type End = Exclude<Next, { kind: "continue" }>;

export const CONTINUE: Next = { kind: "continue" };

/** One release in progress: its context, its story and its position. The store writes its state. */
export class ReleaseRun {
    readonly events: ReleaseEvent[] = [];
    readonly clock: Clock;
    readonly startedAt: string;
    /** The one writer of the release's state and lease. */
    readonly store: ReleaseStore;
    /**
     * Failed analyses so far, over every stage: a resumed release goes on from the count its state recorded
     * (`releaseFailedAnalyses`), so that a kill never resets the failure threshold.
     */
    failures: number;
    /** The policy's webhooks; every call is kept for the report. */
    readonly hooks: HookClient;
    private at: { weight: number; phase?: ReleasePhase };

    constructor(
        readonly opts: ReleaseOptions,
        readonly deps: ReleaseDeps,
        readonly prepared: Prepared,
    ) {
        this.clock = deps.clock ?? systemClock;
        this.startedAt = this.clock.now().toISOString();
        const { view, config: values, deployed, lease, policy, version } = prepared;
        this.store = new ReleaseStore(
            deps.stack,
            lease,
            { view, values, deployed },
            { version, onOutput: deps.engineOutput, ...policyPacks(opts.policyPacks, policy) },
            prepared.stableReplicas,
        );
        this.failures = this.resumed ? (view.state.failedAnalyses ?? 0) : 0;
        this.at = {
            weight: Number(deployed.canaryWeight ?? view.canaryWeight),
            phase: this.resumed ? (view.state.phase ?? "steps") : undefined,
        };
        // A dry run changes nothing and tells no one: no hook is called.
        const hooks = this.dryRun ? [] : policy.hooks;
        this.hooks = new HookClient(hooks, policy.hookSecret, this.clock, deps.signal);
    }

    /** Where this run entered the release. */
    get entry(): RunEntry {
        return this.prepared.entry;
    }

    /** A resumed run (any entry but a fresh release): its first stage converges and checks the deployed canary. */
    get resumed(): boolean {
        return this.entry.kind !== "fresh";
    }

    /** A dry run: its stack previews instead of updating; it waits for nothing, analyses nothing, calls no hook. */
    get dryRun(): boolean {
        return this.opts.dryRun ?? false;
    }

    get stack(): StackDriver {
        return this.deps.stack;
    }

    get policy(): ReleasePolicy {
        return this.prepared.policy;
    }

    /** The release as stack config holds it (the store's). */
    get view(): ReleaseView {
        return this.store.view;
    }

    /** Where traffic is: the canary's weight in the last update that succeeded. */
    get weight(): number {
        return this.at.weight;
    }

    /** The phase of the last update that succeeded, while a release is in progress. */
    get phase(): ReleasePhase | undefined {
        return this.at.phase;
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
        this.log(eventLine(event));
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
                await this.store.renewLease();
            }
        }
    }

    /** Writes a transition through the store (see {@link ReleaseStore.write}); once applied, traffic is where it says. */
    async transition(to: ReleaseView, what: string, o: TransitionOptions = {}): Promise<UpSummary> {
        const summary = await this.store.write(to, what, o);
        const { canaryWeight, state } = this.store.view;
        this.at = { weight: canaryWeight, phase: state.status === "in-progress" ? state.phase : undefined };
        return summary;
    }

    /** The result of the release. */
    finish(outcome: Outcome, reason: string, extra: Partial<ReleaseResult> = {}): ReleaseResult {
        const { image, version } = this.prepared;
        const base = {
            stack: this.stack.name,
            image,
            version,
            startedAt: this.startedAt,
            policy: publicPolicy(this.policy),
        };
        const end = {
            outcome,
            reason,
            finishedAt: this.clock.now().toISOString(),
            events: this.events,
            approvals: this.view.state.approvals,
        };
        return resultOf(base, end, extra);
    }

    /** Stops without rolling back (the release stays resumable): paused, or interrupted. */
    async stop(
        outcome: "paused" | "interrupted" | "awaiting-approval",
        reason: string,
        manualSteps = [resumeCommand(this.stack.name)],
    ): Promise<End> {
        this.record({ kind: "stop", message: `${outcome}: ${reason}` });
        await this.store.letGo().catch(() => undefined);
        return {
            kind: "finish",
            result: this.finish(outcome, reason, { trafficMoved: this.trafficMoved, manualSteps }),
        };
    }

    /** Paused: another update holds the stack; resume when it is done. */
    paused(where: string, e: Error): Promise<End> {
        return this.stop(
            "paused",
            `stack locked by another update ${where}: ${e.message}`,
            lockedSteps(this.stack.name),
        );
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

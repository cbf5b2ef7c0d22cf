/**
 * What every step of a release shares: the stack, the clock, the log, the story so far, and the release as
 * stack config holds it. A step changes the release only through {@link ReleaseRun.transition}: the typed
 * transitions of config/release-state.ts, written as a config change plus `pulumi up`.
 */
import { ReleasePolicy } from "../../config/policy";
import { ConfigChanges, configChanges, ReleasePhase, ReleaseView } from "../../config/release-state";
import { StackDriver, StackLockedError, UpSummary } from "../automation/driver";
import { CanaryTarget, Check } from "./analysis";
import { MetricsSource } from "./prometheus";
import { Outcome, ReleaseEvent, ReleaseResult } from "./result";

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
     * stacks/automation/local-stack.ts), so nothing changes. Defaults to false.
     */
    dryRun?: boolean;
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

/** What preflight established; nothing has changed yet. */
export interface Prepared {
    policy: ReleasePolicy;
    image: string;
    version: string;
    /** The release as stack config holds it now. */
    view: ReleaseView;
    /** The stack's config values as read (our keys, without the namespace). */
    config: Record<string, string>;
    checks: Check[];
    target: CanaryTarget;
    metrics: MetricsSource;
    /** Wait between a shift and its analysis, in ms. */
    intervalMs: number;
}

/** What the next step of a release is. */
export type Next =
    { next: "continue" } | { next: "rollback"; reason: string } | { next: "finish"; result: ReleaseResult };

export const CONTINUE: Next = { next: "continue" };

/** One release in progress: its context, its story and its position. */
export class ReleaseRun {
    readonly events: ReleaseEvent[] = [];
    readonly clock: Clock;
    readonly startedAt: string;
    /** The release as stack config holds it (updated when config is written). */
    view: ReleaseView;
    /** The raw config values the bot knows of (updated when config is written). */
    private readonly config: Record<string, string | undefined>;
    /** Where traffic is: the weight and phase of the last update that succeeded. */
    weight: number;
    phase: ReleasePhase | undefined;
    /** Failed analyses so far, over every stage. */
    failures = 0;

    constructor(
        readonly opts: ReleaseOptions,
        readonly deps: ReleaseDeps,
        readonly prepared: Prepared,
    ) {
        this.clock = deps.clock ?? systemClock;
        this.startedAt = this.clock.now().toISOString();
        this.view = prepared.view;
        this.config = { ...prepared.config };
        this.weight = prepared.view.canaryWeight;
        this.phase = opts.resume ? (prepared.view.state.phase ?? "steps") : undefined;
    }

    get stack(): StackDriver {
        return this.deps.stack;
    }

    get policy(): ReleasePolicy {
        return this.prepared.policy;
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
        const log = this.deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
        log(
            `${event.time}  ${(this.phase ?? "-").padEnd(6)} weight ${String(this.weight).padStart(3)}  ${event.message}`,
        );
    }

    /**
     * Writes the config of `to`, then runs `up`. On a lock the config is put back (with `restoreOnLock`), so the
     * stack is as it was; a rollback keeps its config, so that any later `up` finishes it.
     */
    async transition(
        to: ReleaseView,
        what: string,
        o: { targets?: string[]; restoreOnLock?: boolean } = {},
    ): Promise<UpSummary> {
        const from = this.view;
        const changes = configChanges(from, to);
        const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, this.config[k]]));
        await this.stack.setConfig(changes);
        Object.assign(this.config, changes);
        this.view = to;
        try {
            const summary = await this.stack.up({
                targets: o.targets,
                onOutput: this.deps.engineOutput,
                message: `release ${this.prepared.version}: ${what}`,
                ...policyPacks(this.policy),
            });
            this.weight = to.canaryWeight;
            this.phase = to.state.status === "in-progress" ? to.state.phase : undefined;
            return summary;
        } catch (e) {
            if (e instanceof StackLockedError && (o.restoreOnLock ?? true)) {
                await this.stack.setConfig(before);
                Object.assign(this.config, before);
                this.view = from;
            }
            throw e;
        }
    }

    /** The result of the release. */
    finish(outcome: Outcome, reason: string, manualSteps?: string[]): ReleaseResult {
        const { prometheusPassword: _p, prometheusToken: _t, ...publicPolicy } = this.policy;
        return {
            stack: this.stack.name,
            image: this.prepared.image,
            version: this.prepared.version,
            outcome,
            reason,
            startedAt: this.startedAt,
            finishedAt: this.clock.now().toISOString(),
            policy: publicPolicy,
            events: this.events,
            ...(manualSteps ? { manualSteps } : {}),
        };
    }

    /** Paused: another update holds the stack; resume when it is done. */
    paused(where: string, e: Error): Next {
        return {
            next: "finish",
            result: this.finish("paused", `stack locked by another update ${where}: ${e.message}`, [
                `wait for the other update, then: npm run release -- --stack ${this.stack.name} --resume`,
                `if no update is running (one was killed), release its lock: pulumi cancel --stack ${this.stack.name} --yes`,
            ]),
        };
    }
}

/** The stack's policy pack, run on every update of the release (config key releasePolicyPack). */
function policyPacks(p: ReleasePolicy): { policyPacks?: string[]; policyPackConfigs?: string[] } {
    return p.policyPack === undefined
        ? {}
        : { policyPacks: [p.policyPack], policyPackConfigs: p.policyPackConfig ? [p.policyPackConfig] : undefined };
}

/** The line of an error message worth showing: the first that says "error", else the first. */
export function firstLine(text: string): string {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const err = lines.find((l) => /error/i.test(l));
    return (err ?? lines[0] ?? text).trim().slice(0, 400);
}

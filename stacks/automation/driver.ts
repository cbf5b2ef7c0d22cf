/**
 * The port through which the release bot and promotion drive a Pulumi stack. The Automation API implements it
 * (local-stack.ts); unit tests use an in-memory fake. Config keys are those of the program's namespace, without
 * the `istio-canary:` prefix.
 */
import { ConfigChanges } from "../../config/release-state";

/** Another update holds the stack (the engine's ConcurrentUpdateError): nothing was changed. */
export class StackLockedError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackLockedError";
    }
}

/** The stack does not exist on the current backend. */
export class StackNotFoundError extends Error {
    constructor(
        readonly stack: string,
        message: string,
    ) {
        super(message);
        this.name = "StackNotFoundError";
    }
}

/** The Pulumi CLI, which the Automation API runs, is not on PATH. */
export class PulumiCliMissingError extends Error {
    constructor() {
        super('the Pulumi CLI is not on PATH; put the project\'s toolchain there first: eval "$(scripts/env.sh)"');
        this.name = "PulumiCliMissingError";
    }
}

/** An update plan no longer matches what the program would do (something changed after the preview). */
export class PlanMismatchError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PlanMismatchError";
    }
}

/** What an update changed. */
export interface UpSummary {
    /** Counts per operation: create, update, replace, delete, same. */
    resourceChanges: Record<string, number>;
    durationMs: number;
}

/** One resource's planned (or drifted) change. */
export interface ResourceChange {
    urn: string;
    /** Resource type token, e.g. "kubernetes:networking.istio.io/v1:VirtualService". */
    type: string;
    /** The engine's operation: "update", "replace", "create", "delete", ... ("same" is not listed). */
    op: string;
    /** Property paths that change (from the engine's detailed diff), e.g. "spec.http[2].route[0].weight". */
    paths: string[];
}

/** What a preview found. */
export interface PreviewResult {
    /** The resources that would change (operations other than "same"). */
    changes: ResourceChange[];
    /** The saved update plan, for {@link UpOptions.plan}; undefined when none was asked for. */
    plan?: string;
    summary: UpSummary;
}

/** Options shared by preview and update. */
export interface OperationOptions {
    /** Only these URNs. */
    targets?: string[];
    /** Engine output, line by line. */
    onOutput?: (line: string) => void;
    /**
     * Policy packs the engine runs on the operation (directories with PulumiPolicy.yaml; relative ones from the
     * project directory). A mandatory violation fails it with the policies' messages (PolicyViolationError).
     */
    policyPacks?: string[];
    /** Their configuration files (`--policy-pack-config`), relative ones from the project directory. */
    policyPackConfigs?: string[];
}

/** Options of one preview. */
export interface PreviewOptions extends OperationOptions {
    /** Save the update plan, so that `up({ plan })` applies exactly what was previewed. */
    savePlan?: boolean;
}

/** Options of one update. */
export interface UpOptions extends OperationOptions {
    /** The update's message in `pulumi stack history`. */
    message?: string;
    /** Apply exactly this plan (from {@link StackDriver.preview} with `savePlan`). */
    plan?: string;
}

/** Our config: values (secrets decrypted) and which keys are secrets. */
export interface StackConfig {
    values: Record<string, string>;
    secretKeys: Set<string>;
}

export interface StackDriver {
    /** Stack name, for messages and reports. */
    readonly name: string;
    /** Our config keys and values (secrets decrypted), and which of them are secrets. */
    getConfig(): Promise<StackConfig>;
    /** Sets keys, and removes those whose value is undefined. */
    setConfig(changes: ConfigChanges): Promise<void>;
    /**
     * The config the last update ran with (our keys; secret values left out), from the backend's history: what
     * is deployed, whatever the local stack file says. Undefined when the stack was never updated.
     */
    deployedConfig(): Promise<Record<string, string> | undefined>;
    /** Previews an update of the current config; with `savePlan`, saves its plan. */
    preview(opts?: PreviewOptions): Promise<PreviewResult>;
    /**
     * Runs `pulumi up`. Throws {@link StackLockedError} when another update holds the stack, and
     * {@link PlanMismatchError} when a plan no longer matches.
     */
    up(opts?: UpOptions): Promise<UpSummary>;
    /**
     * Drift: a refresh preview (of `targets` only, when given) reporting the live objects of these types (all
     * when none are given) that differ from the stack's state. Changes nothing.
     */
    drift(types?: string[], targets?: string[]): Promise<ResourceChange[]>;
    /** The stack's outputs as plain values (empty when never deployed). */
    outputs(): Promise<Record<string, unknown>>;
    /** URNs of the release's routing objects, for targeted updates and drift checks; undefined if not deployed yet. */
    routingUrns(): Promise<RoutingUrns | undefined>;
}

/** The URNs of a release's routing objects (the program's outputs `routeUrns` and `routingUrns`). */
export interface RoutingUrns {
    /** The routes a shift changes (the VirtualService, or both Gateway API routes): a routing-only update's targets. */
    routes: string[];
    /** The routes and their DestinationRules: what a drift check refreshes. */
    watched: string[];
}

const urnList = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === "string") ? v : undefined;

/**
 * The routing URNs in a stack's outputs. A stack last deployed by a version without the lists has only `routingUrn`:
 * a VirtualService's (`<app>-vs`) is the route, watched with its DestinationRule (`<app>-dr`); any other (a Gateway
 * API stack's external route, without its mesh route) gives none, so the bot runs full updates and checks drift
 * over the routing types. Undefined when there are none.
 */
export function routingUrnsOf(outputs: Record<string, unknown>): RoutingUrns | undefined {
    const routes = urnList(outputs.routeUrns);
    if (routes !== undefined) {
        return { routes, watched: urnList(outputs.routingUrns) ?? routes };
    }
    const vs = outputs.routingUrn;
    if (typeof vs !== "string" || !/\$kubernetes:networking\.istio\.io\/v1:VirtualService::.*-vs$/.test(vs)) {
        return undefined;
    }
    const dr = vs.replace(/VirtualService::(.*)-vs$/, "DestinationRule::$1-dr");
    return { routes: [vs], watched: [vs, dr] };
}

/** The line of an error message worth showing: the first that says "error", else the first. */
export function firstLine(text: string): string {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const i = lines.findIndex((l) => /error/i.test(l));
    const err = i >= 0 ? lines[i] : (lines[0] ?? text);
    // "Preview failed: 1 error occurred:" says nothing by itself; the errors follow as "* ..." lines.
    const listed = /errors? occurred:\s*$/.test(err) ? lines.slice(i + 1).filter((l) => /^\s*\*/.test(l)) : [];
    return [err, ...listed]
        .map((l) => l.trim())
        .join(" ")
        .slice(0, 400);
}

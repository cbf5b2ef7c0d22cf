/**
 * The Pulumi Automation API behind the release bot and promotion: a {@link StackDriver} over a real stack.
 *
 * A dry run works on a scratch workspace (a temporary directory whose Pulumi.yaml points at the program and holds
 * a copy of the stack's config file) and previews instead of updating, so it changes nothing, not even the
 * stack file.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import * as automation from "@pulumi/pulumi/automation";
import {
    ConcurrentUpdateError,
    EngineEvent,
    LocalWorkspace,
    OpMap,
    PulumiCommand,
    Stack,
} from "@pulumi/pulumi/automation";
import { ownKeys, qualify } from "../../config/namespace";
import { ConfigChanges } from "../../config/release-state";
import {
    PlanMismatchError,
    PreviewOptions,
    PreviewResult,
    PulumiCliMissingError,
    ResourceChange,
    RoutingUrns,
    routingUrnsOf,
    StackConfig,
    StackDriver,
    StackLockedError,
    StackNotFoundError,
    UpOptions,
    UpSummary,
} from "./driver";
import { outputsOnce, PulumiCliError, upOnce } from "./cli-run";
import { KubeTarget, kubeTargetOf } from "./kube-api";
import { PolicyWatch } from "./policy-packs";

/** Throws {@link PulumiCliMissingError} unless an executable `pulumi` is on PATH (what the Automation API runs). */
export function requirePulumiCli(env: NodeJS.ProcessEnv = process.env): void {
    const found = (env.PATH ?? "")
        .split(path.delimiter)
        .filter((dir) => dir !== "")
        .some((dir) => {
            try {
                fs.accessSync(path.join(dir, "pulumi"), fs.constants.X_OK);
                return true;
            } catch {
                return false;
            }
        });
    if (!found) {
        throw new PulumiCliMissingError();
    }
}

let cli: Promise<PulumiCommand> | undefined;

/**
 * The Pulumi CLI on PATH, asked for its version once per process: every new workspace would run `pulumi version`
 * again (about 0.4 s of CPU), and the bot opens several.
 */
export function pulumiCommand(): Promise<PulumiCommand> {
    cli ??= PulumiCommand.get().catch((e: unknown) => {
        cli = undefined; // a CLI installed meanwhile is found by the next call
        throw e;
    });
    return cli;
}

/**
 * Relative paths among node's arguments (`--require ./stacks/preload.js`, `--require=./x`) made absolute from `dir`.
 * One whose absolute path would hold whitespace stays as it is (Pulumi splits `nodeargs` on whitespace): node then
 * resolves it from the program's directory, which is `dir`'s program's too (`main` points there).
 */
export function absoluteNodeArgs(nodeargs: string, dir: string): string {
    return nodeargs
        .split(/\s+/)
        .filter((a) => a !== "")
        .map((a) => {
            const m = /^(--[a-z-]+=)?(\.\.?\/.*)$/.exec(a);
            const abs = m === null ? undefined : `${m[1] ?? ""}${path.resolve(dir, m[2])}`;
            return abs === undefined || /\s/.test(abs) ? a : abs;
        })
        .join(" ");
}

/**
 * Copies Pulumi.yaml (its `main` and the relative paths of its `nodeargs` made absolute, so they point at the
 * program in `workDir`) and the stack's config file into a temporary directory.
 */
export function scratchWorkspace(workDir: string, stackName: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-ws-"));
    const project = yaml.load(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8")) as {
        main?: string;
        runtime?: string | { options?: { nodeargs?: string } };
    };
    project.main = path.resolve(workDir, project.main ?? ".");
    const options = typeof project.runtime === "object" ? project.runtime.options : undefined;
    if (options?.nodeargs !== undefined) {
        options.nodeargs = absoluteNodeArgs(options.nodeargs, workDir);
    }
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump(project));
    const stackFile = path.join(workDir, `Pulumi.${stackName}.yaml`);
    if (fs.existsSync(stackFile)) {
        fs.copyFileSync(stackFile, path.join(dir, `Pulumi.${stackName}.yaml`));
    }
    return dir;
}

/**
 * Opens an existing stack; throws {@link StackNotFoundError} when it does not exist. The program runs without
 * type-checking (PULUMI_NODEJS_TRANSPILE_ONLY, unless set otherwise): CI type-checks it, and each update is about
 * 1.4 s faster (bench/shift.ts), which is what a rollback waits for.
 */
export async function selectStack(stackName: string, workDir: string): Promise<Stack> {
    requirePulumiCli();
    const envVars: Record<string, string> = {
        PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
    };
    try {
        return await LocalWorkspace.selectStack(
            { stackName, workDir },
            { envVars, pulumiCommand: await pulumiCommand() },
        );
    } catch (e) {
        if (e instanceof automation.StackNotFoundError) {
            throw new StackNotFoundError(
                stackName,
                `stack ${stackName} does not exist in ${workDir} (backend ${process.env.PULUMI_BACKEND_URL ?? "from pulumi login"}); create it with \`pulumi stack init ${stackName}\``,
            );
        }
        throw e;
    }
}

/** Our config of a stack: values (secrets decrypted) and which keys are secrets. */
export async function readStackConfig(stack: Stack): Promise<StackConfig> {
    const own = ownKeys(await stack.getAllConfig());
    return {
        values: Object.fromEntries(Object.entries(own).map(([k, v]) => [k, v.value])),
        secretKeys: new Set(Object.keys(own).filter((k) => own[k].secret)),
    };
}

/**
 * Sets our keys (values as given; `secret` lists those to store encrypted) and removes those whose value is
 * undefined, in at most two CLI calls.
 */
export async function writeStackConfig(stack: Stack, changes: ConfigChanges, secret: string[] = []): Promise<void> {
    const set = Object.entries(changes).filter((e): e is [string, string] => e[1] !== undefined);
    if (set.length > 0) {
        await stack.setAllConfig(
            Object.fromEntries(set.map(([k, v]) => [qualify(k), { value: v, secret: secret.includes(k) }])),
        );
    }
    const unset = Object.keys(changes).filter((k) => changes[k] === undefined);
    if (unset.length > 0) {
        // `config rm-all` passes over keys that are not set: no read of the config first (one CLI call less)
        await stack.removeAllConfig(unset.map(qualify));
    }
}

/** A stack's outputs as plain values; undefined when the stack does not exist. */
export async function readStackOutputs(name: string, workDir: string): Promise<Record<string, unknown> | undefined> {
    let stack: Stack;
    try {
        stack = await selectStack(name, workDir);
    } catch (e) {
        if (e instanceof StackNotFoundError) {
            return undefined;
        }
        throw e;
    }
    return outputsOnce(stack);
}

function summarize(changes: OpMap | undefined, durationMs: number): UpSummary {
    return { resourceChanges: { ...(changes ?? {}) }, durationMs };
}

/**
 * Steps that change nothing live: unchanged resources, refreshes, and reads of live objects (a read, a read of
 * another object, a read dropped from the program; the autoscaling canary's read of the stable's replica count).
 */
const NO_CHANGE_OPS: string[] = ["same", "refresh", "read", "read-replacement", "discard"];

/** The resources an operation's events say would change (or drifted), with the property paths that differ. */
export function changesOf(events: EngineEvent[]): ResourceChange[] {
    const out = new Map<string, ResourceChange>();
    for (const e of events) {
        const meta = e.resourcePreEvent?.metadata;
        if (meta === undefined || NO_CHANGE_OPS.includes(meta.op) || meta.type === "pulumi:pulumi:Stack") {
            continue;
        }
        const paths = Object.keys(meta.detailedDiff ?? {});
        out.set(meta.urn, {
            urn: meta.urn,
            type: meta.type,
            op: meta.op,
            paths: paths.length > 0 ? paths : [...(meta.diffs ?? [])],
        });
    }
    return [...out.values()];
}

/**
 * The resources a refresh preview found changed outside Pulumi: the engine reports them in the step's outputs
 * event (op "update", or "delete" when the object is gone), with the paths that differ.
 */
export function driftOf(events: EngineEvent[]): ResourceChange[] {
    return events
        .map((e) => e.resOutputsEvent?.metadata)
        .filter((m) => m !== undefined && !NO_CHANGE_OPS.includes(m.op))
        .map((m) => ({ urn: m!.urn, type: m!.type, op: m!.op, paths: Object.keys(m!.detailedDiff ?? {}) }));
}

/** Maps the engine's errors to the port's typed errors. */
function typed(e: unknown): unknown {
    if (e instanceof ConcurrentUpdateError || (e instanceof PulumiCliError && e.locked)) {
        return new StackLockedError(lockMessage(String(e)));
    }
    const text = String((e as Error)?.message ?? e);
    if (/violates plan/.test(text)) {
        const line = text.split("\n").find((l) => /violates plan/.test(l)) ?? text;
        return new PlanMismatchError(line.replace(/^.*?error: /, "").trim());
    }
    return e;
}

/** A {@link StackDriver} over a Pulumi stack. */
export class AutomationStack implements StackDriver {
    private planDir?: string;
    /** Dry run: the summary of each saved "plan" (a preview stands in for the update). */
    private readonly dryPlans = new Map<string, UpSummary>();

    protected constructor(
        readonly stack: Stack,
        private readonly dryRun: boolean,
        /** Where Pulumi.yaml is: relative policy pack paths start here. */
        private readonly projectDir: string,
        private readonly scratch?: string,
    ) {}

    get name(): string {
        return this.stack.name;
    }

    /** Opens `stackName` in `workDir`; with `dryRun`, on a scratch copy of its config that previews only. */
    static async open(stackName: string, workDir: string, dryRun = false): Promise<AutomationStack> {
        if (!dryRun) {
            return new AutomationStack(await selectStack(stackName, workDir), false, workDir);
        }
        await selectStack(stackName, workDir); // fail early, and clearly, when it does not exist
        const scratch = scratchWorkspace(workDir, stackName);
        return new AutomationStack(await selectStack(stackName, scratch), true, workDir, scratch);
    }

    getConfig(): Promise<StackConfig> {
        return readStackConfig(this.stack);
    }

    setConfig(changes: ConfigChanges): Promise<void> {
        return writeStackConfig(this.stack, changes);
    }

    /** The cluster this stack's Kubernetes provider talks to (its `kubernetes:kubeconfig` and `kubernetes:context`). */
    async kubeTarget(): Promise<KubeTarget> {
        const all = await this.stack.getAllConfig();
        return kubeTargetOf(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value])));
    }

    /** Where Pulumi.yaml is: the Kubernetes provider resolves a relative `kubernetes:kubeconfig` path from here. */
    get projectDirectory(): string {
        return this.projectDir;
    }

    async deployedConfig(): Promise<Record<string, string> | undefined> {
        const history = await this.stack.history(10, 1, false);
        const last = history.find((h) => h.kind === "update");
        if (last === undefined) {
            return undefined;
        }
        const own = ownKeys(last.config ?? {});
        return Object.fromEntries(
            Object.entries(own)
                .filter(([, v]) => !v.secret)
                .map(([k, v]) => [k, v.value]),
        );
    }

    async preview(opts: PreviewOptions = {}): Promise<PreviewResult> {
        const t0 = Date.now();
        const events: EngineEvent[] = [];
        const plan = opts.savePlan ? this.newPlanFile() : undefined;
        const policies = new PolicyWatch();
        const { onEvent: onPolicy, ...packs } = policies.options(opts, this.projectDir);
        try {
            const p = await this.stack.preview({
                target: opts.targets,
                onOutput: opts.onOutput,
                onEvent: (e) => {
                    events.push(e);
                    onPolicy?.(e);
                },
                ...packs,
                plan: this.dryRun ? undefined : plan,
                diff: true,
            });
            const summary = summarize(p.changeSummary, Date.now() - t0);
            if (plan !== undefined && this.dryRun) {
                this.dryPlans.set(plan, summary);
            }
            return { changes: changesOf(events), plan, summary };
        } catch (e) {
            throw policies.error(typed(e));
        }
    }

    async up(opts: UpOptions = {}): Promise<UpSummary> {
        const t0 = Date.now();
        const policies = new PolicyWatch();
        const options = {
            target: opts.targets,
            onOutput: opts.onOutput,
            message: opts.message,
            ...policies.options(opts, this.projectDir),
        };
        try {
            if (this.dryRun) {
                const planned = opts.plan === undefined ? undefined : this.dryPlans.get(opts.plan);
                return planned ?? summarize((await this.stack.preview(options)).changeSummary, Date.now() - t0);
            }
            const { target: targets, ...rest } = options;
            return summarize(await upOnce(this.stack, { ...rest, targets, plan: opts.plan }), Date.now() - t0);
        } catch (e) {
            throw policies.error(typed(e));
        } finally {
            if (opts.plan !== undefined) {
                fs.rmSync(opts.plan, { force: true });
                this.dryPlans.delete(opts.plan);
            }
        }
    }

    async drift(types?: string[], targets?: string[]): Promise<ResourceChange[]> {
        const events: EngineEvent[] = [];
        try {
            await this.stack.previewRefresh({ onEvent: (e) => events.push(e), target: targets });
        } catch (e) {
            throw typed(e);
        }
        return driftOf(events).filter((c) => types === undefined || types.includes(c.type));
    }

    outputs(): Promise<Record<string, unknown>> {
        return outputsOnce(this.stack);
    }

    async routingUrns(): Promise<RoutingUrns | undefined> {
        return routingUrnsOf(await this.outputs());
    }

    private newPlanFile(): string {
        this.planDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-plan-"));
        return path.join(this.planDir, `plan-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    }

    /** Removes the scratch workspace of a dry run and any plan files. */
    dispose(): void {
        for (const dir of [this.scratch, this.planDir]) {
            if (dir) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
    }
}

function lockMessage(text: string): string {
    const line = text.split("\n").find((l) => /locked by/.test(l));
    return (line ?? "the stack is currently locked by another update").replace(/^.*?error: /, "").trim();
}

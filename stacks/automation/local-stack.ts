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
import { ConcurrentUpdateError, LocalWorkspace, OpMap, Stack } from "@pulumi/pulumi/automation";
import { ownKeys, qualify } from "../../config/namespace";
import { ConfigChanges } from "../../config/release-state";
import { StackConfig, StackDriver, StackLockedError, StackNotFoundError, UpOptions, UpSummary } from "./driver";
import { PolicyWatch } from "./policy-packs";

/**
 * Copies Pulumi.yaml (its `main` made absolute, so it points at the program in `workDir`) and the stack's config
 * file into a temporary directory.
 */
export function scratchWorkspace(workDir: string, stackName: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-ws-"));
    const project = yaml.load(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8")) as { main?: string };
    project.main = path.resolve(workDir, project.main ?? ".");
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
    const envVars: Record<string, string> = {
        PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
    };
    try {
        return await LocalWorkspace.selectStack({ stackName, workDir }, { envVars });
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
 * undefined.
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
        const present = await stack.getAllConfig();
        const existing = unset.map(qualify).filter((k) => k in present);
        if (existing.length > 0) {
            await stack.removeAllConfig(existing);
        }
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
    const outputs = await stack.outputs();
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value as unknown]));
}

function summarize(changes: OpMap | undefined, durationMs: number): UpSummary {
    return { resourceChanges: { ...(changes ?? {}) }, durationMs };
}

/** A {@link StackDriver} over a Pulumi stack. */
export class AutomationStack implements StackDriver {
    private constructor(
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
                const p = await this.stack.preview(options);
                return summarize(p.changeSummary, Date.now() - t0);
            }
            const r = await this.stack.up(options);
            return summarize(r.summary.resourceChanges, Date.now() - t0);
        } catch (e) {
            if (e instanceof ConcurrentUpdateError) {
                throw new StackLockedError(lockMessage(String(e)));
            }
            throw policies.error(e);
        }
    }

    async routingUrn(): Promise<string | undefined> {
        const outputs = await this.stack.outputs();
        const urn: unknown = outputs.routingUrn?.value;
        return typeof urn === "string" ? urn : undefined;
    }

    /** Removes the scratch workspace of a dry run. */
    dispose(): void {
        if (this.scratch) {
            fs.rmSync(this.scratch, { recursive: true, force: true });
        }
    }
}

function lockMessage(text: string): string {
    const line = text.split("\n").find((l) => /locked by/.test(l));
    return (line ?? "the stack is currently locked by another update").replace(/^.*?error: /, "").trim();
}

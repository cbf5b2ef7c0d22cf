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
import { ConcurrentUpdateError, LocalWorkspace, OpMap, Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { CONFIG_NAMESPACE } from "../components/config";
import { StackDriver, StackLockedError, UpSummary } from "./release/stack";

const NS = `${CONFIG_NAMESPACE}:`;

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

function summarize(changes: OpMap | undefined, durationMs: number): UpSummary {
    return { resourceChanges: { ...(changes ?? {}) }, durationMs };
}

/**
 * Opens an existing stack. Throws a clear error when it does not exist. The program runs without type-checking
 * (PULUMI_NODEJS_TRANSPILE_ONLY, unless set otherwise): CI type-checks it, and each update is about 1.4 s faster
 * (bench/shift.ts), which is what a rollback waits for.
 */
export async function selectStack(stackName: string, workDir: string): Promise<Stack> {
    const envVars: Record<string, string> = {
        PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
    };
    try {
        return await LocalWorkspace.selectStack({ stackName, workDir }, { envVars });
    } catch (e) {
        if (e instanceof StackNotFoundError || /no stack named/.test(String(e))) {
            throw new Error(
                `stack ${stackName} does not exist in ${workDir} (backend ${process.env.PULUMI_BACKEND_URL ?? "from pulumi login"}); create it with \`pulumi stack init ${stackName}\``,
            );
        }
        throw e;
    }
}

/** A {@link StackDriver} over a Pulumi stack. */
export class AutomationStack implements StackDriver {
    private constructor(
        readonly stack: Stack,
        private readonly dryRun: boolean,
        private readonly scratch?: string,
    ) {}

    get name(): string {
        return this.stack.name;
    }

    /** Opens `stackName` in `workDir`; with `dryRun`, on a scratch copy of its config that previews only. */
    static async open(stackName: string, workDir: string, dryRun = false): Promise<AutomationStack> {
        if (!dryRun) {
            return new AutomationStack(await selectStack(stackName, workDir), false);
        }
        await selectStack(stackName, workDir); // fail early, and clearly, when it does not exist
        const scratch = scratchWorkspace(workDir, stackName);
        return new AutomationStack(await selectStack(stackName, scratch), true, scratch);
    }

    async getConfig(): Promise<{ values: Record<string, string>; secretKeys: Set<string> }> {
        const all = await this.stack.getAllConfig();
        const values: Record<string, string> = {};
        const secretKeys = new Set<string>();
        for (const [k, v] of Object.entries(all)) {
            if (k.startsWith(NS)) {
                values[k.slice(NS.length)] = v.value;
                if (v.secret) {
                    secretKeys.add(k.slice(NS.length));
                }
            }
        }
        return { values, secretKeys };
    }

    async setConfig(changes: Record<string, string | undefined>): Promise<void> {
        const set = Object.entries(changes).filter(([, v]) => v !== undefined) as [string, string][];
        const unset = Object.entries(changes)
            .filter(([, v]) => v === undefined)
            .map(([k]) => NS + k);
        if (set.length > 0) {
            await this.stack.setAllConfig(Object.fromEntries(set.map(([k, v]) => [NS + k, { value: v }])));
        }
        if (unset.length > 0) {
            const present = await this.stack.getAllConfig();
            const existing = unset.filter((k) => k in present);
            if (existing.length > 0) {
                await this.stack.removeAllConfig(existing);
            }
        }
    }

    async up(
        opts: { targets?: string[]; onOutput?: (line: string) => void; message?: string } = {},
    ): Promise<UpSummary> {
        const t0 = Date.now();
        try {
            if (this.dryRun) {
                const p = await this.stack.preview({
                    target: opts.targets,
                    onOutput: opts.onOutput,
                    message: opts.message,
                });
                return summarize(p.changeSummary, Date.now() - t0);
            }
            const r = await this.stack.up({ target: opts.targets, onOutput: opts.onOutput, message: opts.message });
            return summarize(r.summary.resourceChanges, Date.now() - t0);
        } catch (e) {
            if (e instanceof ConcurrentUpdateError || /currently locked by/.test(String(e))) {
                throw new StackLockedError(lockMessage(String(e)));
            }
            throw e;
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
    return (line ?? "the stack is locked by another update").replace(/^.*?error: /, "").trim();
}

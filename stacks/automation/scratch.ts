/**
 * A stack of this program in a scratch workspace (a temporary directory whose Pulumi.yaml points at the
 * project), for the demo, the benchmarks and the end-to-end tests: nothing is written into the repository.
 * The backend is whatever PULUMI_BACKEND_URL says (a throwaway file:// directory in all three), or what the `env`
 * a stack is created with says (the end-to-end tests' shared S3 backend).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent, LocalWorkspace, OpMap, Stack } from "@pulumi/pulumi/automation";
import { ownKeys } from "../../config/namespace";
import { ConfigChanges } from "../../config/release-state";
import { upOnce } from "./cli-run";
import { TlsPair } from "./dev-tls";
import { pulumiCommand, scratchWorkspace, writeStackConfig } from "./local-stack";

/** The project root (where Pulumi.yaml is). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** A committed stack file's config (keys without namespace; structured values as JSON, as the engine passes them). */
export function stackFileConfig(stack: string, dir = PROJECT_DIR): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) as {
        config?: Record<string, unknown>;
    };
    const own = ownKeys(doc.config ?? {});
    return Object.fromEntries(Object.entries(own).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** What an update did: the resource changes the engine counted (by operation), its events, its duration. */
export interface Update {
    changes: OpMap;
    events: EngineEvent[];
    ms: number;
}

export class ScratchStack {
    private constructor(
        readonly stack: Stack,
        readonly workDir: string,
        private readonly ownsDir: boolean,
        private readonly envVars: Record<string, string>,
    ) {}

    /**
     * Creates (or selects) `name` with `config` and the TLS pair as secrets, in a new scratch workspace or in
     * `workDir` (stacks of one project sharing a workspace). `env` is added to the environment of every Pulumi
     * command on the stack (e.g. PULUMI_BACKEND_URL and the backend's credentials: the stack lives there).
     */
    static async create(
        name: string,
        config: Record<string, string>,
        tls: TlsPair,
        workDir?: string,
        env: Record<string, string> = {},
    ): Promise<ScratchStack> {
        const dir = workDir ?? scratchWorkspace(PROJECT_DIR, name);
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName: name, workDir: dir },
            { envVars: env, pulumiCommand: await pulumiCommand() },
        );
        await writeStackConfig(stack, { ...config, tlsCert: tls.cert, tlsKey: tls.key }, ["tlsCert", "tlsKey"]);
        return new ScratchStack(stack, dir, workDir === undefined, env);
    }

    /** The environment for a tool that works on this stack (the bot's CLI): this process's, plus the stack's `env`. */
    get env(): NodeJS.ProcessEnv {
        return { ...process.env, ...this.envVars };
    }

    get name(): string {
        return this.stack.name;
    }

    /** Sets keys; undefined removes. */
    set(values: ConfigChanges): Promise<void> {
        return writeStackConfig(this.stack, values);
    }

    /**
     * `pulumi up`, as one CLI call (stacks/automation/cli-run.ts: not the Automation API's four); with `refresh`,
     * live objects are read first, so an edit made outside Pulumi is undone.
     */
    async up(opts: { target?: string[]; refresh?: boolean; onOutput?: (line: string) => void } = {}): Promise<Update> {
        const events: EngineEvent[] = [];
        const t0 = Date.now();
        const changes = await upOnce(this.stack, {
            targets: opts.target,
            refresh: opts.refresh,
            onOutput: opts.onOutput,
            onEvent: (e) => events.push(e),
        });
        return { changes: changes ?? {}, events, ms: Date.now() - t0 };
    }

    /** Runs the Pulumi CLI in this stack's workspace (e.g. `stack export`); returns stdout. */
    pulumi(args: string[]): string {
        return execFileSync("pulumi", [...args, "--stack", this.name], {
            cwd: this.workDir,
            env: this.env,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
    }

    /** Destroys the stack's resources, removes the stack and, if it made it, the scratch workspace. */
    async destroyAndRemove(onOutput?: (line: string) => void): Promise<void> {
        try {
            await this.stack.destroy({ onOutput });
        } finally {
            await this.stack.workspace.removeStack(this.stack.name, { force: true });
            if (this.ownsDir) {
                fs.rmSync(this.workDir, { recursive: true, force: true });
            }
        }
    }
}

/** Operation per resource name in an update's events: "update", "same", "replace", ... */
export function operations(events: EngineEvent[]): Record<string, string> {
    const ops: Record<string, string> = {};
    for (const e of events) {
        const meta = e.resourcePreEvent?.metadata;
        if (meta) {
            ops[meta.urn.split("::").at(-1)!] = meta.op;
        }
    }
    return ops;
}

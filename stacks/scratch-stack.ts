/**
 * A stack of this program in a scratch workspace (a temporary directory whose Pulumi.yaml points at the
 * project), for the demo, the benchmarks and the end-to-end tests: nothing is written into the repository.
 * The backend is whatever PULUMI_BACKEND_URL says (a throwaway file:// directory in all three).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent, LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import { CONFIG_NAMESPACE } from "../components/config";
import { scratchWorkspace } from "./automation";
import { TlsPair } from "./dev-tls";

/** The project root (where Pulumi.yaml is). */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A committed stack file's config (keys without namespace; structured values as JSON, as the engine passes them). */
export function stackFileConfig(stack: string, dir = PROJECT_DIR): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) as {
        config?: Record<string, unknown>;
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        if (k.startsWith(`${CONFIG_NAMESPACE}:`)) {
            out[k.slice(CONFIG_NAMESPACE.length + 1)] = typeof v === "string" ? v : JSON.stringify(v);
        }
    }
    return out;
}

/** What an update did, with the engine's events. */
export interface Update {
    result: UpResult;
    events: EngineEvent[];
    ms: number;
}

export class ScratchStack {
    private constructor(
        readonly stack: Stack,
        readonly workDir: string,
        private readonly ownsDir: boolean,
    ) {}

    /**
     * Creates (or selects) `name` with `config` and the TLS pair as secrets, in a new scratch workspace or in
     * `workDir` (stacks of one project sharing a workspace).
     */
    static async create(
        name: string,
        config: Record<string, string>,
        tls: TlsPair,
        workDir?: string,
    ): Promise<ScratchStack> {
        const dir = workDir ?? scratchWorkspace(PROJECT_DIR, name);
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: dir });
        await stack.setAllConfig({
            ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`${CONFIG_NAMESPACE}:${k}`, { value: v }])),
            [`${CONFIG_NAMESPACE}:tlsCert`]: { value: tls.cert, secret: true },
            [`${CONFIG_NAMESPACE}:tlsKey`]: { value: tls.key, secret: true },
        });
        return new ScratchStack(stack, dir, workDir === undefined);
    }

    get name(): string {
        return this.stack.name;
    }

    /** Sets keys; undefined removes. */
    async set(values: Record<string, string | undefined>): Promise<void> {
        const set = Object.entries(values).filter(([, v]) => v !== undefined) as [string, string][];
        if (set.length > 0) {
            await this.stack.setAllConfig(
                Object.fromEntries(set.map(([k, v]) => [`${CONFIG_NAMESPACE}:${k}`, { value: v }])),
            );
        }
        const all = await this.stack.getAllConfig();
        const unset = Object.entries(values)
            .filter(([k, v]) => v === undefined && `${CONFIG_NAMESPACE}:${k}` in all)
            .map(([k]) => `${CONFIG_NAMESPACE}:${k}`);
        if (unset.length > 0) {
            await this.stack.removeAllConfig(unset);
        }
    }

    async up(opts: { target?: string[]; onOutput?: (line: string) => void } = {}): Promise<Update> {
        const events: EngineEvent[] = [];
        const t0 = Date.now();
        const result = await this.stack.up({
            onEvent: (e) => events.push(e),
            target: opts.target,
            onOutput: opts.onOutput,
        });
        return { result, events, ms: Date.now() - t0 };
    }

    /** Runs the Pulumi CLI in this stack's workspace (e.g. `stack export`); returns stdout. */
    pulumi(args: string[]): string {
        return execFileSync("pulumi", [...args, "--stack", this.name], {
            cwd: this.workDir,
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

/** Runs kubectl (KUBECTL, else kubectl on PATH); returns stdout. */
export function kubectl(args: string[]): string {
    return execFileSync(process.env.KUBECTL ?? "kubectl", args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** The live VirtualService's HTTP routes, one line each: "name: stable 90 / canary 10". */
export function describeLiveRoutes(namespace: string, name: string): string[] {
    const vs = JSON.parse(
        kubectl(["get", "virtualservices.networking.istio.io", "-n", namespace, name, "-o", "json"]),
    ) as {
        spec: {
            http: {
                name: string;
                route: { destination: { subset: string }; weight: number }[];
                mirrorPercentage?: { value: number };
            }[];
        };
    };
    return vs.spec.http.map(
        (h) =>
            `${h.name}: ${h.route.map((d) => `${d.destination.subset} ${d.weight}`).join(" / ")}` +
            (h.mirrorPercentage ? ` (mirror ${h.mirrorPercentage.value}% to canary)` : ""),
    );
}

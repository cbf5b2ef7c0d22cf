/**
 * End-to-end harness: real `pulumi up` through the Automation API against the local API server.
 *
 * Needs what scripts/e2e.sh sets up: the Pulumi CLI on PATH, KUBECONFIG of the local cluster, KUBECTL,
 * ISTIO_CHARTS_DIR. Each stack lives on a throwaway file:// backend in a temp dir and a scratch workspace whose
 * Pulumi.yaml points at this repository; tests destroy and remove their stacks in `after` hooks.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import { scratchWorkspace } from "../../stacks/automation";
import { selfSignedCertificate, TlsPair } from "../../stacks/dev-tls";

export const REPO = path.resolve(__dirname, "..", "..");

for (const name of ["KUBECONFIG", "KUBECTL", "ISTIO_CHARTS_DIR"]) {
    if (!process.env[name]) {
        throw new Error(`${name} is not set: run the end-to-end tests with \`npm run test:e2e\` (scripts/e2e.sh)`);
    }
}

/** The throwaway file:// backend of this run. */
export const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-e2e-backend-"));
process.env.PULUMI_BACKEND_URL = `file://${backendDir}`;
process.env.PULUMI_CONFIG_PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE ?? "e2e-only-passphrase";
process.env.PULUMI_SKIP_UPDATE_CHECK = "true";
process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";

/** Runs kubectl against the local cluster; returns stdout. */
export function kubectl(args: string[]): string {
    return execFileSync(process.env.KUBECTL!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A live object as JSON, or undefined when it does not exist. */
export function live<T = Record<string, any>>(kind: string, namespace: string, name: string): T | undefined {
    try {
        const ns = namespace === "" ? [] : ["-n", namespace];
        return JSON.parse(kubectl(["get", kind, ...ns, name, "-o", "json"])) as T;
    } catch (e) {
        if (/NotFound|not found/.test(String((e as { stderr?: string }).stderr ?? e))) {
            return undefined;
        }
        throw e;
    }
}

/** Names of all objects of the kinds in a namespace ("kind/name"). */
export function namesIn(namespace: string, kinds: string): string[] {
    const out = kubectl(["get", kinds, "-n", namespace, "-o", "name", "--ignore-not-found"]).trim();
    return out === "" ? [] : out.split("\n").sort();
}

/** Weighted route of a live VirtualService: [[subset, weight], ...]. */
export function liveWeights(namespace: string, name: string): [string, number][] {
    const vs = live("virtualservices.networking.istio.io", namespace, name)!;
    const route = (
        vs.spec.http as { name: string; route: { destination: { subset: string }; weight: number }[] }[]
    ).find((h) => h.name === "weighted")!;
    return route.route.map((d) => [d.destination.subset, d.weight]);
}

let tls: TlsPair | undefined;
/** One self-signed pair for every e2e stack. */
export function e2eTls(): TlsPair {
    tls ??= selfSignedCertificate(["shop.e2e.example.test"]);
    return tls;
}

/** The dev stack's settings for the local cluster, with the charts from ISTIO_CHARTS_DIR. */
export function baseConfig(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        app: "shop",
        namespace,
        stableImage: "registry.example.test/shop:1.0.0",
        stableVersion: "v1",
        hosts: "shop.e2e.example.test",
        replicas: "2",
        podSecurityEnforce: "restricted",
        istioChartDir: process.env.ISTIO_CHARTS_DIR!,
        gatewayServiceType: "ClusterIP",
        gatewayValues: JSON.stringify({ autoscaling: { enabled: false } }),
        istiodValues: JSON.stringify({ autoscaleEnabled: false }),
        rolloutTimeoutSeconds: "120",
        ...extra,
    };
}

/** What an update did, with the engine's events. */
export interface Update {
    result: UpResult;
    events: EngineEvent[];
    ms: number;
}

/** A throwaway stack of this program. */
export class E2EStack {
    private constructor(
        readonly stack: Stack,
        readonly workDir: string,
        private readonly ownsDir: boolean,
    ) {}

    /** A stack in a new scratch workspace, or in `workDir` (stacks of one project sharing a workspace). */
    static async create(name: string, config: Record<string, string>, workDir?: string): Promise<E2EStack> {
        return E2EStack.open(name, config, workDir ?? scratchWorkspace(REPO, name), workDir === undefined);
    }

    private static async open(name: string, config: Record<string, string>, workDir: string, ownsDir: boolean) {
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir });
        const { cert, key } = e2eTls();
        await stack.setAllConfig({
            ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`istio-canary:${k}`, { value: v }])),
            "istio-canary:tlsCert": { value: cert, secret: true },
            "istio-canary:tlsKey": { value: key, secret: true },
        });
        return new E2EStack(stack, workDir, ownsDir);
    }

    get name(): string {
        return this.stack.name;
    }

    /** Runs the Pulumi CLI in this stack's workspace (e.g. `stack export`), returns stdout. */
    pulumi(args: string[]): string {
        return execFileSync("pulumi", [...args, "--stack", this.name], {
            cwd: this.workDir,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
    }

    async set(values: Record<string, string | undefined>): Promise<void> {
        for (const [k, v] of Object.entries(values)) {
            if (v === undefined) {
                await this.stack.removeConfig(`istio-canary:${k}`);
            } else {
                await this.stack.setConfig(`istio-canary:${k}`, { value: v });
            }
        }
    }

    async up(opts: { target?: string[] } = {}): Promise<Update> {
        const events: EngineEvent[] = [];
        const t0 = Date.now();
        const result = await this.stack.up({
            onEvent: (e) => events.push(e),
            target: opts.target,
            onOutput: process.env.E2E_VERBOSE ? (l) => process.stdout.write(l) : undefined,
        });
        return { result, events, ms: Date.now() - t0 };
    }

    async destroyAndRemove(): Promise<void> {
        try {
            await this.stack.destroy({
                onOutput: process.env.E2E_VERBOSE ? (l) => process.stdout.write(l) : undefined,
            });
        } finally {
            await this.stack.workspace.removeStack(this.stack.name, { force: true });
            if (this.ownsDir) {
                fs.rmSync(this.workDir, { recursive: true, force: true });
            }
        }
    }
}

/** Operation per resource URN's last segment (name) in an update: "update", "same", "replace", ... */
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

/**
 * End-to-end harness: real `pulumi up` through the Automation API against the local API server.
 *
 * Needs what scripts/e2e.sh sets up: the Pulumi CLI on PATH, KUBECONFIG of the local cluster, KUBECTL,
 * ISTIO_CHARTS_DIR. Each stack lives on a throwaway file:// backend in a temp dir and a scratch workspace whose
 * Pulumi.yaml points at this repository; tests destroy and remove their stacks in `after` hooks. A stack that
 * several runners share lives on the run's S3 backend instead ({@link s3BackendEnv}: SeaweedFS, E2E_S3_BACKEND_URL).
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate, TlsPair } from "../../stacks/automation/dev-tls";
import { kubectl } from "../../stacks/automation/kube";
import { KubeApi } from "../../stacks/automation/kube-api";
import { getSync, objectPath } from "./live-sync";
import { PROJECT_DIR, ScratchStack } from "../../stacks/automation/scratch";
import { principalOf, spiffeId } from "../../scripts/mesh/certs";
import { istioctlAnalyze, loopbackGuard } from "../../scripts/mesh/istio-checks";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";
import { canaryPercent, gatewayNode, gatewayRoutes, RouteView } from "../../scripts/mesh/xds";
import type { ReleaseResult } from "../../stacks/release/result";
import { meshValues } from "./shared-mesh";
import { s3BackendEnv as backendEnvOfRun } from "../../scripts/backend/s3";

export { kubectl } from "../../stacks/automation/kube";
export { operations, type Update } from "../../stacks/automation/scratch";
export const REPO = PROJECT_DIR;

/** How the project's command-line tools run (package.json's scripts): node with the project's preload. */
const PRELOAD = ["-r", path.join(REPO, "stacks", "preload.js")];

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

/**
 * The run's shared S3 backend (SeaweedFS on 127.0.0.1, started by scripts/e2e.sh through scripts/backend/with-s3.sh):
 * the environment a stack and its runners need to live on it. Throws when it is not there: a test meant for the
 * shared backend never falls back to file://.
 */
export function s3BackendEnv(): Record<string, string> {
    return backendEnvOfRun(process.env);
}

/**
 * A live object as JSON, or undefined when it does not exist: through the API server directly for the kinds
 * tests/e2e/live-sync.ts knows (no kubectl process), else by kubectl.
 */
export function live<T = Record<string, any>>(kind: string, namespace: string, name: string): T | undefined {
    const apiPath = objectPath(kind, namespace, name);
    if (apiPath !== undefined) {
        return getSync<T>(apiPath);
    }
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

/** The stable Deployment runs `image` as `version` and the default route sends it everything. */
export function assertStableServes(namespace: string, image: string, version: string): void {
    assert.deepStrictEqual(liveWeights(namespace, "shop"), [
        ["stable", 100],
        ["canary", 0],
    ]);
    const stable = live("deployment", namespace, "shop-stable")!;
    assert.strictEqual(stable.spec.template.spec.containers[0].image, image);
    assert.strictEqual(stable.spec.template.metadata.labels.version, version);
}

/** The host of the suites that install Istio themselves (tests/e2e/plan.json's solo files) and of the YAML program. */
export const E2E_HOST = "shop.e2e.example.test";

const tls = new Map<string, TlsPair>();
/** One self-signed pair per host (two gateways sharing a certificate is an `istioctl analyze` finding, IST0138). */
export function e2eTls(host = E2E_HOST): TlsPair {
    const pair = tls.get(host) ?? selfSignedCertificate([host]);
    tls.set(host, pair);
    return pair;
}

/** A release policy for the suite: two steps, 10 s apart, on 5 s windows of a Prometheus scraping every second. */
export const FAST_RELEASE_POLICY = {
    releaseSteps: "50,100",
    releaseInterval: "10s",
    releaseMetricWindow: "5s",
    prometheusScrapeInterval: "1s",
    releaseNoData: "hold",
    releaseHoldLimit: "5",
};

/** The principal of the test mesh's client in `namespace` (scripts/mesh: Mesh.startClient's default identity). */
export function meshClientPrincipal(namespace: string, name = "mesh-client"): string {
    return principalOf(spiffeId(namespace, name));
}

/**
 * The dev stack's settings for the local cluster. Istio is the suite run's shared installation
 * (tests/e2e/shared-mesh.ts: `istioInstall: false`); a suite that installs it itself sets `istioInstall: "true"`,
 * with the charts from ISTIO_CHARTS_DIR and the same values. Each namespace has a host of its own (suites run side
 * by side, and two gateways may not claim one host: IST0109, IST0145). Pod Security, the service account, /tmp,
 * ephemeral storage, the budgets, STRICT mutual TLS and the AuthorizationPolicy are the defaults; the
 * AuthorizationPolicy also allows the test mesh's client (the gateway's identity is allowed by default).
 */
export function baseConfig(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        app: "shop",
        namespace,
        stableImage: "registry.example.test/shop:1.0.0",
        stableVersion: "v1",
        hosts: `shop.${namespace}.e2e.example.test`,
        replicas: "2",
        allowedPrincipals: meshClientPrincipal(namespace),
        istioInstall: "false",
        ...meshValues(),
        rolloutTimeoutSeconds: "120",
        ...extra,
    };
}

/** The namespaces of this process's stacks: `istioctl analyze` judges their objects (and Istio's own). */
const ownNamespaces = new Set<string>();

/**
 * What Istio says after every change the suite makes: the loopback guard (no webhook, APIService or endpoint names an
 * address off the machine) and `istioctl analyze` (nothing beyond the documented exceptions).
 */
export async function assertIstioClean(after: string): Promise<void> {
    await loopbackGuard();
    const analysis = await istioctlAnalyze([...ownNamespaces]);
    assert.deepStrictEqual(
        analysis.unexpected,
        [],
        `istioctl analyze after ${after}: findings beyond the documented exceptions`,
    );
}

/**
 * {@link assertIstioClean} after every change, off the test's critical path: a check runs in the background while
 * the test goes on with what changes nothing (assertions, requests, waits), and the next change waits for it
 * ({@link IstioChecks.idle}), so every state a change leaves is checked before the next change, as before. Every test
 * ends by settling them (tests/e2e/hooks.ts, a root `afterEach`): a finding fails the test that made the change.
 */
class IstioChecks {
    private running?: Promise<void>;
    private pending: string[] = [];
    private failures: string[] = [];
    /** Checks run so far, and the changes they covered (for the suite's report). */
    runs = 0;
    changes = 0;

    /** A change was made (`after` says which): check the cluster once the running check, if any, is done. */
    request(after: string): void {
        this.pending.push(after);
        this.changes++;
        this.running ??= this.loop();
    }

    private async loop(): Promise<void> {
        while (this.pending.length > 0) {
            const after = this.pending.splice(0).join(", ");
            this.runs++;
            try {
                await assertIstioClean(after);
            } catch (e) {
                this.failures.push((e as Error).message);
            }
        }
        this.running = undefined;
    }

    /** Waits for the check under way, if any (before the next change: it must see the state the last one left). */
    async idle(): Promise<void> {
        await this.running;
    }

    /** Waits for every check asked for so far; throws what any of them found. */
    async settle(): Promise<void> {
        await this.running;
        const failures = this.failures.splice(0);
        if (failures.length > 0) {
            throw new Error(failures.join("\n"));
        }
    }
}
export const istioChecks = new IstioChecks();

/**
 * A throwaway stack of this program with the e2e TLS pair; every successful `up` is checked ({@link istioChecks}).
 * `env` chooses another backend for it (`s3BackendEnv()`); the tools run on it get the same (`stack.env`).
 */
export const E2EStack = {
    create: async (name: string, config: Record<string, string>, workDir?: string, env?: Record<string, string>) => {
        ownNamespaces.add(config.namespace);
        const stack = await ScratchStack.create(name, config, e2eTls(config.hosts?.split(",")[0]), workDir, env);
        const up = stack.up.bind(stack);
        stack.up = async (opts) => {
            await istioChecks.idle();
            const u = await up(opts);
            istioChecks.request(`an up of ${name}`);
            return u;
        };
        return stack;
    },
};
export type E2EStack = ScratchStack;

/**
 * Polls the live canary weight of each namespace's `shop` VirtualService, and the version label of its canary
 * Deployment's pods, from `start()` until `stop()`: one round at a time, a second apart, through one kept-alive
 * HTTPS connection to the API server (asynchronous: tests that serve metrics from their own process must never block
 * its event loop; and no kubectl process per read).
 */
export function pollCanaryWeights(
    namespaces: string[],
    /** Another cluster's kubeconfig (default: the suite's cluster). */
    kubeconfig?: string,
): {
    weights: Record<string, number>;
    versions: Record<string, string>;
    start: () => void;
    stop: () => void;
} {
    const weights: Record<string, number> = Object.fromEntries(namespaces.map((ns) => [ns, 0]));
    const versions: Record<string, string> = Object.fromEntries(namespaces.map((ns) => [ns, "unknown"]));
    let api: KubeApi | undefined;
    const get = <T>(apiPath: string) => api!.request<T>("GET", apiPath).catch(() => undefined);
    let running = false;
    const round = async (ns: string) => {
        const [deployment, vs] = await Promise.all([
            get<{ spec: { template: { metadata: { labels?: Record<string, string> } } } }>(
                `/apis/apps/v1/namespaces/${ns}/deployments/shop-canary`,
            ),
            get<{ spec: { http: { name: string; route: { destination: { subset: string }; weight: number }[] }[] } }>(
                `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices/shop`,
            ),
        ]);
        const version = deployment?.spec.template.metadata.labels?.version;
        if (version !== undefined && version !== "") {
            versions[ns] = version;
        }
        if (vs !== undefined) {
            const weighted = vs.spec.http.find((h) => h.name === "weighted");
            weights[ns] = weighted?.route.find((d) => d.destination.subset === "canary")?.weight ?? 0;
        }
    };
    const loop = async () => {
        while (running) {
            await Promise.all(namespaces.map(round));
            await new Promise((r) => setTimeout(r, 1000));
        }
        api?.close();
        api = undefined;
    };
    return {
        weights,
        versions,
        start: () => {
            api = KubeApi.fromKubeconfig(kubeconfig === undefined ? undefined : [kubeconfig]);
            running = true;
            void loop();
        },
        stop: () => {
            running = false;
        },
    };
}

/**
 * Runs one of the project's command-line tools (a .ts file under stacks/) as a user would, asynchronously;
 * `onOutput` sees its stdout so far (and the process, e.g. to signal it). `env`: the tool's environment (a stack on
 * another backend passes its `stack.env`).
 */
export function runCli(
    script: string,
    args: string[],
    onOutput?: (stdout: string, child: ChildProcess) => void,
    env: NodeJS.ProcessEnv = process.env,
    o: { hostname?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
    const node = [process.execPath, ...PRELOAD, script, ...args];
    // As on another machine: in a UTS namespace of its own, with its own hostname (what a lease holder's id names).
    const command =
        o.hostname === undefined
            ? node
            : ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', o.hostname, ...node];
    return istioChecks
        .idle()
        .then(
            () =>
                new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                    const child = spawn(command[0], command.slice(1), { cwd: REPO, env });
                    let stdout = "";
                    let stderr = "";
                    child.stdout.on("data", (c: Buffer) => {
                        stdout += c.toString();
                        onOutput?.(stdout, child);
                    });
                    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
                    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
                }),
        )
        .then((r: { code: number; stdout: string; stderr: string }) => {
            // The tools update stacks (release bot, promotion): Istio has its say after each run.
            istioChecks.request(script);
            return r;
        });
}

/**
 * Starts the release CLI in its own process group and SIGKILLs the whole group (bot and any pulumi child) as soon
 * as `killWhen(output so far)` holds (checked on each output and every 50 ms). Resolves once it is dead.
 */
export async function spawnBot(
    common: string[],
    args: string[],
    killWhen: (out: string) => boolean,
    env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
    await istioChecks.idle();
    const child = spawn(process.execPath, [...PRELOAD, "stacks/cli/release.ts", ...common, ...args], {
        cwd: REPO,
        env,
        detached: true,
    });
    let out = "";
    let killed = false;
    const check = () => {
        if (!killed && killWhen(out)) {
            killed = true;
            process.kill(-child.pid!, "SIGKILL");
        }
    };
    const timer = setInterval(check, 50);
    return new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (c: Buffer) => {
            out += c.toString();
            check();
        });
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.on("exit", (_code, signal) => {
            clearInterval(timer);
            if (signal === "SIGKILL") {
                resolve(out);
            } else {
                reject(new Error(`bot ended on its own:\n${out}`));
            }
        });
    });
}

/** One run of the release CLI: its exit code, its output, the JSON report it wrote and that report's path. */
export interface ReleaseRun {
    code: number;
    out: string;
    report: ReleaseResult;
    reportFile: string;
}

/**
 * Runs the release CLI (`npm run release`) on `stack` as a user would, with `--report-dir reportDir --quiet` and
 * `args`; asserts it wrote exactly one new report, in all three forms (JSON, Markdown and SVG).
 */
export async function releaseCli(
    stack: E2EStack,
    reportDir: string,
    args: string[],
    onOutput?: Parameters<typeof runCli>[2],
): Promise<ReleaseRun> {
    const before = new Set(fs.existsSync(reportDir) ? fs.readdirSync(reportDir) : []);
    const common = ["--stack", stack.name, "--work-dir", stack.workDir, "--report-dir", reportDir, "--quiet"];
    const r = await runCli("stacks/cli/release.ts", [...common, ...args], onOutput, stack.env);
    const out = `${r.stdout}${r.stderr}`;
    const json = fs.readdirSync(reportDir).filter((f) => f.endsWith(".json") && !before.has(f));
    assert.strictEqual(json.length, 1, `one new JSON report\n${out}`);
    const reportFile = path.join(reportDir, json[0]);
    for (const ext of [".md", ".svg"]) {
        assert.ok(fs.existsSync(reportFile.replace(/\.json$/, ext)), `${ext} report written`);
    }
    const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as ReleaseResult;
    return { code: r.code, out, report, reportFile };
}

/**
 * The `after` of a suite that runs the mesh: stops `first` (the traffic), then the mesh (asserting its backends
 * started and stopped cleanly), then destroys and removes the stack, stops Prometheus and removes the reports,
 * each even when an earlier step failed.
 */
export async function tearDownMesh(parts: {
    first?: () => Promise<void>;
    mesh?: Mesh;
    stack?: E2EStack;
    prometheus?: { stop(): Promise<void> };
    reportDir?: string;
}): Promise<void> {
    try {
        await parts.first?.();
        await parts.mesh?.stop();
        assert.deepStrictEqual(parts.mesh?.errors ?? [], [], "backends started and stopped cleanly");
    } finally {
        try {
            await parts.stack?.destroyAndRemove();
        } finally {
            await parts.prometheus?.stop();
            if (parts.reportDir !== undefined) {
                fs.rmSync(parts.reportDir, { recursive: true, force: true });
            }
        }
    }
}

/**
 * The test mesh of a stack's namespace (app shop, port 80 to 8080): one backend process per pod, once 2 stable v1
 * and 1 canary v2 run, and a proxyless gRPC client istiod has routed.
 */
export async function meshWithClient(namespace: string): Promise<{ mesh: Mesh; client: MeshClient }> {
    const mesh = Mesh.start({ namespace, app: "shop", servicePort: 80, containerPort: 8080 });
    await mesh.waitForBackends(
        (l) =>
            l.filter((b) => b.track === "stable" && b.version === "v1").length === 2 &&
            l.some((b) => b.track === "canary" && b.version === "v2"),
        "2 stable v1 and 1 canary v2",
    );
    const client = await mesh.startClient();
    await client.waitRouted();
    return { mesh, client };
}

/**
 * Polls the ingress gateway's routes for `host`, as istiod serves them to the gateway's identity over xDS, until the
 * weighted route's canary share (as `share` reads it: subsets by default) is `weight`; fails after 30 s.
 */
export async function gatewayRoutesAt(
    host: string,
    weight: number,
    share: (route: RouteView) => number = canaryPercent,
): Promise<RouteView[]> {
    const pod = JSON.parse(
        kubectl(["get", "pods", "-n", "istio-ingress", "-l", "app=istio-ingressgateway", "-o", "json"]),
    ).items[0];
    assert.ok(pod?.status?.podIP, "an ingress gateway pod with an IP");
    const node = gatewayNode(
        { name: pod.metadata.name, namespace: "istio-ingress", ip: pod.status.podIP, labels: pod.metadata.labels },
        "1.31.0",
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
        const { routes } = await gatewayRoutes(`unix://${process.env.ISTIOD_XDS_SOCKET}`, node, host);
        const weighted = routes.find((r) => r.name === "weighted");
        if (weighted && share(weighted) === weight) {
            return routes;
        }
        if (Date.now() > deadline) {
            assert.fail(`the gateway's weighted route never reached canary ${weight}%: ${JSON.stringify(routes)}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

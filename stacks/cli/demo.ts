/**
 * `npm run demo`: the dev stack on the local cluster, from install to a completed release, on a throwaway
 * backend. Prints each step's `pulumi up` time, what changed, the live VirtualService routes and the measured
 * split: 1000 real requests from a proxyless gRPC client routed by istiod over xDS to one backend process per pod
 * (scripts/mesh; the app speaks gRPC here, `protocol: grpc`), counted per track. Then destroys everything. Run
 * through scripts/with-cluster.sh (it provides the toolchain, the cluster and istiod).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appNamespace, deploymentName, TRACKS } from "../../components/names";
import { selfSignedCertificate } from "../automation/dev-tls";
import { describeLiveRoutes, kubectl } from "../automation/kube";
import { ScratchStack, stackFileConfig } from "../automation/scratch";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";

/** Requests per step for the measured split. */
const REQUESTS = 1000;

interface Step {
    title: string;
    config: Record<string, string | undefined>;
}

const CANARY_IMAGE = "ghcr.io/stefanprodan/podinfo:6.8.0";
const CANARY_VERSION = "6.8.0";

const STEPS: Step[] = [
    { title: "install Istio and podinfo 6.7.0 (all traffic on stable)", config: {} },
    { title: "deploy canary 6.8.0 at weight 0", config: { canaryImage: CANARY_IMAGE, canaryVersion: CANARY_VERSION } },
    { title: "shift 10% to the canary", config: { canaryWeight: "10" } },
    { title: "shift 50% to the canary", config: { canaryWeight: "50" } },
    { title: "shift 100% to the canary", config: { canaryWeight: "100" } },
    {
        title: "complete: stable runs 6.8.0, weight back to 0",
        config: {
            stableImage: CANARY_IMAGE,
            stableVersion: CANARY_VERSION,
            canaryWeight: "0",
            canaryImage: undefined,
            canaryVersion: undefined,
        },
    },
];

function changes(c: Record<string, number> | undefined): string {
    return Object.entries(c ?? {})
        .filter(([op]) => op !== "same")
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
}

async function main(): Promise<void> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-demo-"));
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE ??= "demo-only-passphrase";
    // The mesh's backends answer gRPC, so the Service port is named grpc (Istio's protocol selection).
    const config: Record<string, string> = { ...stackFileConfig("dev"), protocol: "grpc" };
    if (process.env.ISTIO_CHARTS_DIR) {
        config.istioChartDir = process.env.ISTIO_CHARTS_DIR;
    }
    const ns = appNamespace(config.app, config.namespace);
    const stack = await ScratchStack.create("dev", config, selfSignedCertificate(config.hosts.split(",")));
    const rows: string[] = [];
    const t0 = Date.now();
    const mesh = Mesh.start({
        namespace: ns,
        app: config.app,
        servicePort: Number(config.servicePort ?? 80),
        containerPort: Number(config.containerPort ?? 8080),
        label: "demo",
    });
    let client: MeshClient | undefined;
    try {
        for (const [i, step] of STEPS.entries()) {
            await stack.set(step.config);
            const up = await stack.up();
            const seconds = (up.ms / 1000).toFixed(1);
            const versions = TRACKS.map((t) => {
                const d = JSON.parse(
                    kubectl(["get", "deployment", "-n", ns, deploymentName(config.app, t), "-o", "json"]),
                ) as {
                    spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } };
                };
                return `${t} ${d.spec.template.metadata.labels.version} x${d.spec.replicas}`;
            });
            console.log(
                `\n[${i + 1}/${STEPS.length}] ${step.title}: pulumi up ${seconds}s (${changes(up.result.summary.resourceChanges)})`,
            );
            console.log(`      deployments: ${versions.join(", ")}`);
            for (const route of describeLiveRoutes(ns, config.app)) {
                console.log(`      live route ${route}`);
            }
            const weighted = describeLiveRoutes(ns, config.app).find((r) => r.startsWith("weighted"));
            // One backend per pod, each on the version its Deployment runs; then real requests, counted per track.
            const want = TRACKS.map((t) => {
                const d = JSON.parse(
                    kubectl(["get", "deployment", "-n", ns, deploymentName(config.app, t), "-o", "json"]),
                ) as { spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } } };
                return { t, n: d.spec.replicas, v: d.spec.template.metadata.labels.version };
            });
            await mesh.waitForBackends(
                (l) =>
                    want.every(
                        (w) =>
                            l.filter((b) => b.track === w.t).length === w.n &&
                            l.every((b) => b.track !== w.t || b.version === w.v),
                    ),
                want.map((w) => `${w.n} ${w.t} ${w.v}`).join(", "),
            );
            if (!client) {
                client = await mesh.startClient("demo-client");
                await client.waitRouted();
            }
            await new Promise((r) => setTimeout(r, 1000)); // istiod pushes the new routes within about a second
            const r = await client.batch(REQUESTS, { concurrency: 16 });
            const failed = r.n - r.ok;
            const measured =
                `stable ${r.byTrack.stable ?? 0} / canary ${r.byTrack.canary ?? 0}` +
                ` (${Object.entries(r.byVersion)
                    .map(([v, n]) => `${v}: ${n}`)
                    .join(", ")})${failed ? `, ${failed} failed` : ""}`;
            console.log(`      measured: ${REQUESTS} requests -> ${measured}`);
            rows.push(
                `| ${i + 1} | ${step.title} | ${seconds} s | ${weighted?.replace("weighted: ", "")} | ${measured} |`,
            );
        }
        console.log(`\nSummary (${((Date.now() - t0) / 1000).toFixed(0)} s in all):\n`);
        console.log(
            `| step | what | pulumi up | live weighted route | measured: ${REQUESTS} requests via istiod's xDS |\n| ---: | --- | ---: | --- | --- |`,
        );
        rows.forEach((r) => console.log(r));
    } finally {
        console.log("\ntearing down: mesh processes, pulumi destroy, stack removal");
        await mesh.stop();
        await stack.destroyAndRemove();
        fs.rmSync(backend, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

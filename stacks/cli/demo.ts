/**
 * `npm run demo`: the dev stack on the local cluster, from install to a completed release, on a throwaway
 * backend. Prints each step's `pulumi up` time, what changed and the live VirtualService routes, then destroys
 * everything. Run through scripts/with-cluster.sh (it provides the toolchain and the cluster).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appNamespace, deploymentName, TRACKS } from "../../components/names";
import { selfSignedCertificate } from "../automation/dev-tls";
import { describeLiveRoutes, kubectl } from "../automation/kube";
import { ScratchStack, stackFileConfig } from "../automation/scratch";

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
    const config = stackFileConfig("dev");
    if (process.env.ISTIO_CHARTS_DIR) {
        config.istioChartDir = process.env.ISTIO_CHARTS_DIR;
    }
    const ns = appNamespace(config.app, config.namespace);
    const stack = await ScratchStack.create("dev", config, selfSignedCertificate(config.hosts.split(",")));
    const rows: string[] = [];
    const t0 = Date.now();
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
            rows.push(`| ${i + 1} | ${step.title} | ${seconds} s | ${weighted?.replace("weighted: ", "")} |`);
        }
        console.log(`\nSummary (${((Date.now() - t0) / 1000).toFixed(0)} s in all):\n`);
        console.log("| step | what | pulumi up | live weighted route |\n| ---: | --- | ---: | --- |");
        rows.forEach((r) => console.log(r));
    } finally {
        console.log("\ntearing down: pulumi destroy, stack removal");
        await stack.destroyAndRemove();
        fs.rmSync(backend, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

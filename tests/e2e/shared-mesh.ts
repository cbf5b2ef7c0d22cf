/**
 * One Istio installation shared by the end-to-end suites: IstioMesh (base, istiod and gateway charts from
 * ISTIO_CHARTS_DIR, webhooks on loopback) in a stack of its own, on a backend kept in the cluster's state
 * directory, so it lives as long as the cluster does. The suites' stacks set `istioInstall: false` and use it;
 * tests/e2e/01-program.test.ts alone installs (and upgrades, and removes) Istio itself, with no shared mesh
 * present (scripts/e2e.sh runs it first, on its own).
 *
 *   node -r ./stacks/preload.js tests/e2e/shared-mesh.ts up     # install, or check that it is installed (an `up` with no changes)
 *   node -r ./stacks/preload.js tests/e2e/shared-mesh.ts down   # remove it (nothing to do when it is not there)
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { IstioMesh } from "../../components/istio-mesh";
import { localIstioValues } from "../../scripts/mesh/istio-values";

const STACK = "e2e-mesh";
const PROJECT = "istio-canary-e2e-mesh";

/**
 * The chart values every e2e installation of Istio uses (the program's keys, as baseConfig gives them); `env` is
 * the cluster's (its istiod's CA: ISTIO_CA_BUNDLE), this process's by default.
 */
export function meshValues(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    return {
        istioChartDir: required("ISTIO_CHARTS_DIR"),
        gatewayServiceType: "ClusterIP",
        gatewayValues: JSON.stringify({ autoscaling: { enabled: false } }),
        ...localIstioValues({}, env), // webhooks on loopback: the cluster's API server calls istiod's validation webhook
    };
}

/** Another cluster than the suite's: its state directory and kubeconfig, and its environment (up.sh's exports). */
export interface MeshCluster {
    stateDir: string;
    kubeconfig: string;
    env: NodeJS.ProcessEnv;
}

function required(name: string): string {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set: run this through scripts/e2e.sh (or scripts/with-cluster.sh)`);
    }
    return v;
}

/** The mesh stack, on a file:// backend in the cluster's state directory; `cluster`: another than the suite's. */
async function meshStack(cluster?: MeshCluster): Promise<Stack> {
    const dir = path.join(cluster?.stateDir ?? required("CLUSTER_STATE_DIR"), "e2e-mesh");
    const backend = path.join(dir, "backend");
    fs.mkdirSync(backend, { recursive: true });
    const v = meshValues(cluster?.env);
    const stack = await LocalWorkspace.createOrSelectStack(
        {
            stackName: STACK,
            projectName: PROJECT,
            program: async () => {
                const mesh = new IstioMesh("mesh", {
                    chartDir: v.istioChartDir,
                    gatewayServiceType: "ClusterIP",
                    gatewayValues: JSON.parse(v.gatewayValues) as Record<string, unknown>,
                    baseValues: JSON.parse(v.istioBaseValues) as Record<string, unknown>,
                    istiodValues: JSON.parse(v.istiodValues) as Record<string, unknown>,
                    // The Gateway API's CRDs (scripts/toolchain/gateway-api.sh), for the gateway-api routing mode.
                    gatewayApiCrdsDir: process.env.GATEWAY_API_CRDS_DIR,
                });
                return Promise.resolve({ gatewayNamespace: mesh.gatewayNamespace });
            },
        },
        {
            workDir: dir,
            envVars: {
                PULUMI_BACKEND_URL: `file://${backend}`,
                PULUMI_CONFIG_PASSPHRASE: "e2e-mesh-only-passphrase",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            },
        },
    );
    if (cluster !== undefined) {
        await stack.setConfig("kubernetes:kubeconfig", { value: cluster.kubeconfig });
    }
    return stack;
}

/** Installs the shared mesh, or checks it is there; returns what the update did and how long it took. */
export async function sharedMeshUp(cluster?: MeshCluster): Promise<string> {
    const t0 = Date.now();
    const up = await (await meshStack(cluster)).up();
    const changes = Object.entries(up.summary.resourceChanges ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
    return `shared Istio up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${changes})`;
}

/** Removes the shared mesh when it is there. */
export async function sharedMeshDown(cluster?: MeshCluster): Promise<string> {
    const dir = path.join(cluster?.stateDir ?? required("CLUSTER_STATE_DIR"), "e2e-mesh");
    if (!fs.existsSync(dir)) {
        return "no shared Istio to remove";
    }
    const t0 = Date.now();
    const stack = await meshStack(cluster);
    await stack.destroy();
    await stack.workspace.removeStack(STACK);
    fs.rmSync(dir, { recursive: true, force: true });
    return `shared Istio removed in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

if (require.main === module) {
    const verb = process.argv[2];
    const run = verb === "up" ? sharedMeshUp : verb === "down" ? sharedMeshDown : undefined;
    if (run === undefined) {
        console.error("usage: shared-mesh.ts up|down");
        process.exit(2);
    }
    run().then(
        (line) => console.error(`[e2e] ${line}`),
        (e: unknown) => {
            console.error(`[e2e] shared Istio ${verb} failed: ${e instanceof Error ? e.message : String(e)}`);
            process.exit(1);
        },
    );
}

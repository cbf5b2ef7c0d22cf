/**
 * A second local cluster, for the tests that span clusters (promotion in waves): its own etcd, API server,
 * controllers, kwok nodes and istiod, in a network namespace of its own (scripts/cluster/up.sh with another state
 * directory and other ports), with the e2e Istio installation (shared-mesh.ts) on it. The suite's cluster is the
 * first (KUBECONFIG); a stack runs on this one when its `kubernetes:kubeconfig` names {@link SecondCluster.kubeconfig}.
 */
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { MeshCluster, sharedMeshUp } from "./shared-mesh";

const run = promisify(execFile);
const REPO = path.resolve(__dirname, "../..");

/** What up.sh exports that the tests use. */
const EXPORTS = ["KUBECONFIG", "CLUSTER_STATE_DIR", "ISTIOD_WEBHOOK_URL", "ISTIO_CA_BUNDLE"];

/**
 * Ports of the second cluster: the suite's defaults + 1000 (up.sh takes the next free one if a port is in use),
 * all below the kernel's ephemeral range.
 */
const PORTS = {
    CLUSTER_ETCD_PORT: "23379",
    CLUSTER_API_PORT: "27443",
    CLUSTER_KCM_PORT: "21257",
    CLUSTER_SCHED_PORT: "21259",
};

export class SecondCluster implements MeshCluster {
    private constructor(
        readonly stateDir: string,
        readonly kubeconfig: string,
        readonly env: NodeJS.ProcessEnv,
        readonly log: string[],
    ) {}

    /** Starts the cluster (`name` is the state directory's suffix) and installs the e2e Istio on it. */
    static async start(name: string): Promise<SecondCluster> {
        const stateDir = `${process.env.CLUSTER_STATE_DIR ?? "/tmp/istio-canary-cluster"}-${name}`;
        const t0 = Date.now();
        const { stdout, stderr } = await run(
            "bash",
            [
                "-c",
                `set -euo pipefail; eval "$(scripts/cluster/up.sh)"; for v in ${EXPORTS.join(" ")}; do printf '%s=%s\\n' "$v" "\${!v}"; done`,
            ],
            {
                cwd: REPO,
                env: {
                    ...process.env,
                    ...PORTS,
                    CLUSTER_STATE_DIR: stateDir,
                    CLUSTER_METRICS: "0",
                    CLUSTER_NODES: "2",
                },
                maxBuffer: 16 * 1024 * 1024,
            },
        );
        const exported = Object.fromEntries(
            stdout
                .split("\n")
                .filter((l) => l.includes("="))
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        const env = { ...process.env, ...exported };
        const cluster = new SecondCluster(stateDir, exported.KUBECONFIG, env, stderr.trim().split("\n").slice(-1));
        cluster.log.push(`second cluster ${name} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        cluster.log.push(await sharedMeshUp(cluster));
        return cluster;
    }

    /** kubectl on this cluster; returns stdout. */
    async kubectl(args: string[]): Promise<string> {
        const { stdout } = await run(process.env.KUBECTL ?? "kubectl", ["--kubeconfig", this.kubeconfig, ...args], {
            maxBuffer: 16 * 1024 * 1024,
        });
        return stdout;
    }

    /** Stops it: everything on it, its Istio and the mesh stack's backend go with its state directory. */
    async stop(): Promise<void> {
        await run("scripts/cluster/down.sh", [], {
            cwd: REPO,
            env: { ...process.env, CLUSTER_STATE_DIR: this.stateDir },
        });
    }
}

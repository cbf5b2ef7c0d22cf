/** What CanaryRelease's pods and mesh carry besides the workload, each on by default and each with an off switch. */
import * as assert from "assert";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { buildPodDisruptionBudgetSpec } from "../../components/disruption";
import { RecordingMocks, withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SA = "kubernetes:core/v1:ServiceAccount";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

async function deploy(extra: Partial<CanaryReleaseArgs> = {}): Promise<RecordingMocks> {
    return withMocks(() => {
        new CanaryRelease("shop", releaseArgs(extra));
    });
}

const pods = (m: RecordingMocks) =>
    m.ofType(DEPLOYMENT).map((d) => d.inputs.spec.template.spec as Record<string, unknown> & { containers: any[] });

describe("CanaryRelease: what the pods and the mesh carry", () => {
    it("runs the pods as a ServiceAccount <app> that mounts no API token", async () => {
        const mocks = await deploy();
        assert.deepStrictEqual(mocks.one(SA).inputs, {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: "shop", namespace: "prod", labels: { app: "shop" } },
            automountServiceAccountToken: false,
        });
        for (const pod of pods(mocks)) {
            assert.strictEqual(pod.serviceAccountName, "shop");
            assert.strictEqual(pod.automountServiceAccountToken, false);
        }
    });

    it("mounts an emptyDir at /tmp beside the read-only root filesystem", async () => {
        for (const pod of pods(await deploy())) {
            assert.deepStrictEqual(pod.volumes, [{ name: "tmp", emptyDir: {} }]);
            assert.deepStrictEqual(pod.containers[0].volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
            assert.strictEqual(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
        }
    });

    it("requests and limits ephemeral storage, with the quantities given", async () => {
        const mocks = await deploy({
            resources: { ephemeralStorageRequest: "100Mi", ephemeralStorageLimit: "1Gi", cpuLimit: "1" },
        });
        for (const pod of pods(mocks)) {
            assert.deepStrictEqual(pod.containers[0].resources, {
                requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "100Mi" },
                limits: { cpu: "1", memory: "256Mi", "ephemeral-storage": "1Gi" },
            });
        }
    });

    it("a PodDisruptionBudget per track: stable loses one pod at a time, the canary may lose all", async () => {
        const mocks = await deploy();
        const budgets = Object.fromEntries(mocks.ofType(PDB).map((p) => [p.name, p.inputs]));
        assert.deepStrictEqual(budgets["shop-stable-pdb"], {
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: { name: "shop-stable", namespace: "prod", labels: { app: "shop" } },
            spec: {
                selector: { matchLabels: { app: "shop", track: "stable" } },
                maxUnavailable: 1,
                unhealthyPodEvictionPolicy: "AlwaysAllow",
            },
        });
        assert.deepStrictEqual(budgets["shop-canary-pdb"].spec, {
            selector: { matchLabels: { app: "shop", track: "canary" } },
            maxUnavailable: "100%",
            unhealthyPodEvictionPolicy: "AlwaysAllow",
        });
        // maxUnavailable, never minAvailable: the same budget at any replica count (an autoscaler's included).
        for (const track of ["stable", "canary"] as const) {
            assert.strictEqual("minAvailable" in buildPodDisruptionBudgetSpec("shop", track), false);
        }
    });

    it("the budgets do not move with the weight or the replicas: a shift changes no budget", async () => {
        const spec = async (a: Partial<CanaryReleaseArgs>) =>
            JSON.stringify((await deploy(a)).ofType(PDB).map((p) => p.inputs));
        const base = await spec({ canaryWeight: 0, replicas: 2 });
        assert.strictEqual(await spec({ canaryWeight: 100, replicas: 7, canaryScaling: true }), base);
    });

    it("each turns off with its argument, and the pods stay as they were", async () => {
        const mocks = await deploy({
            serviceAccount: false,
            tmpVolume: false,
            ephemeralStorage: false,
            podDisruptionBudgets: false,
        });
        for (const type of [SA, PDB]) {
            assert.deepStrictEqual(mocks.ofType(type), [], type);
        }
        for (const pod of pods(mocks)) {
            for (const field of ["serviceAccountName", "automountServiceAccountToken", "volumes"]) {
                assert.strictEqual(field in pod, false, field);
            }
            assert.strictEqual("volumeMounts" in pod.containers[0], false);
            assert.deepStrictEqual(pod.containers[0].resources, {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "256Mi" },
            });
        }
    });
});

/** What CanaryRelease's pods and mesh carry besides the workload, each on by default and each with an off switch. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { buildPodDisruptionBudgetSpec } from "../../components/disruption";
import { buildAuthorizationPolicySpec, principal, PRINCIPAL } from "../../components/mesh-security";
import { RecordingMocks, withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SA = "kubernetes:core/v1:ServiceAccount";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const PEER = "kubernetes:security.istio.io/v1:PeerAuthentication";
const AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy";

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

    it("accepts mutual TLS only on the app's pods (PeerAuthentication STRICT)", async () => {
        const pa = (await deploy()).one(PEER).inputs;
        assert.deepStrictEqual(pa, {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: "shop", namespace: "prod", labels: { app: "shop" } },
            spec: { selector: { matchLabels: { app: "shop" } }, mtls: { mode: "STRICT" } },
        });
    });

    it("lets only the gateway's service account and the allowed principals call the app (AuthorizationPolicy)", async () => {
        const ap = (await deploy({ allowedPrincipals: ["cluster.local/ns/shop/sa/frontend", "*/sa/batch"] })).one(
            AUTHZ,
        ).inputs;
        assert.deepStrictEqual(ap, {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: "shop", namespace: "prod", labels: { app: "shop" } },
            spec: {
                selector: { matchLabels: { app: "shop" } },
                action: "ALLOW",
                rules: [
                    {
                        from: [
                            {
                                source: {
                                    principals: [
                                        "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
                                        "cluster.local/ns/shop/sa/frontend",
                                        "*/sa/batch",
                                    ],
                                },
                            },
                        ],
                    },
                ],
            },
        });
    });

    it("the gateway's identity: its service account, else the selector's app label, else istio-ingressgateway; Outputs too", async () => {
        const principals = async (gateway: CanaryReleaseArgs["gateway"]) =>
            (await deploy({ gateway })).one(AUTHZ).inputs.spec.rules[0].from[0].source.principals;
        assert.deepStrictEqual(
            await principals({
                namespace: pulumi.output("edge"),
                selector: pulumi.output({ app: "public-gw" }),
                serviceAccount: pulumi.output("edge-gw"),
            }),
            ["cluster.local/ns/edge/sa/edge-gw"],
        );
        assert.deepStrictEqual(await principals({ namespace: "edge", selector: { app: "public-gw" } }), [
            "cluster.local/ns/edge/sa/public-gw",
        ]);
        assert.deepStrictEqual(await principals({ namespace: "edge", selector: { istio: "ingressgateway" } }), [
            "cluster.local/ns/edge/sa/istio-ingressgateway",
        ]);
    });

    it("each turns off with its argument, and the pods stay as they were", async () => {
        const mocks = await deploy({
            serviceAccount: false,
            tmpVolume: false,
            ephemeralStorage: false,
            podDisruptionBudgets: false,
            peerAuthentication: false,
            authorizationPolicy: false,
        });
        for (const type of [SA, PDB, PEER, AUTHZ]) {
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

    it("rejects principals Istio would refuse, naming the field and what it accepts", async () => {
        const accepts =
            'allowedPrincipals must hold Istio principals such as "cluster.local/ns/shop/sa/frontend" (no whitespace ' +
            'or control characters; "*" alone, or one "*" at the start or the end); got';
        await assert.rejects(
            deploy({ allowedPrincipals: ["cluster.local/ns/a/sa/b", "a*b", "*/ns/*", "x y", "td/ns/a/sa/\u0000"] }),
            {
                message: [
                    `${accepts} "a*b"`,
                    `${accepts} "*/ns/*"`,
                    `${accepts} "x y"`,
                    `${accepts} "td/ns/a/sa/\\u0000"`,
                ].join("\n"),
            },
        );
    });

    it('principals: the local trust domain, each once, in order; a "*" alone or at one end', () => {
        assert.strictEqual(principal("istio-ingress", "gw"), "cluster.local/ns/istio-ingress/sa/gw");
        assert.deepStrictEqual(
            buildAuthorizationPolicySpec("shop", ["a", "b", "a"]).rules[0].from[0].source.principals,
            ["a", "b"],
        );
        for (const ok of ["*", "*/sa/x", "cluster.local/*", "td/ns/a/sa/b"]) {
            assert.ok(PRINCIPAL.test(ok), ok);
        }
        for (const bad of ["", "**", "a**", "*a*", "a*b", " a", "a\tb", "a\u0000", "\u007f*"]) {
            assert.ok(!PRINCIPAL.test(bad), bad);
        }
    });
});

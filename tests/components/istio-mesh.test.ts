import * as assert from "assert";
import { IstioMesh, IstioMeshArgs } from "../../components/istio-mesh";
import { gatewaySelector, gatewayServiceAccount } from "../../components/names";
import { DependencyRecorder, isSecretValue, plain, value, withMocks } from "../harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";

async function install(args: IstioMeshArgs) {
    const deps = new DependencyRecorder();
    let mesh: IstioMesh | undefined;
    const mocks = await withMocks(() => {
        mesh = new IstioMesh("mesh", args, { transformations: [deps.transformation] });
    });
    return { mocks, deps, mesh: mesh! };
}

describe("IstioMesh", () => {
    it("installs base, istiod and the gateway from Istio's repository at the pinned version", async () => {
        const { mocks } = await install({ version: "1.28.0" });
        const releases = mocks.ofType(RELEASE);
        assert.deepStrictEqual(
            releases.map((r) => [
                r.name,
                r.inputs.name,
                r.inputs.chart,
                r.inputs.version,
                r.inputs.repositoryOpts?.repo,
                r.inputs.namespace,
            ]),
            [
                [
                    "mesh-base",
                    "istio-base",
                    "base",
                    "1.28.0",
                    "https://istio-release.storage.googleapis.com/charts",
                    "istio-system",
                ],
                [
                    "mesh-cni",
                    "istio-cni",
                    "cni",
                    "1.28.0",
                    "https://istio-release.storage.googleapis.com/charts",
                    "kube-system",
                ],
                [
                    "mesh-istiod",
                    "istiod",
                    "istiod",
                    "1.28.0",
                    "https://istio-release.storage.googleapis.com/charts",
                    "istio-system",
                ],
                [
                    "mesh-gateway",
                    "istio-ingressgateway",
                    "gateway",
                    "1.28.0",
                    "https://istio-release.storage.googleapis.com/charts",
                    "istio-ingress",
                ],
            ],
        );
        assert.deepStrictEqual(
            mocks.ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name),
            ["istio-system", "istio-ingress"],
        );
        assert.deepStrictEqual(mocks.custom().length, 6, "two namespaces and four releases, nothing else");
    });

    it("labels the gateway's namespace for injection (by revision when one is set), istiod's namespace not", async () => {
        const labelsOf = (m: Awaited<ReturnType<typeof install>>["mocks"]) =>
            m.ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.labels);
        const [system, gateway] = labelsOf((await install({ version: "1.28.0" })).mocks);
        assert.strictEqual(gateway["istio-injection"], "enabled");
        assert.strictEqual(gateway["pod-security.kubernetes.io/enforce"], system["pod-security.kubernetes.io/enforce"]);
        assert.strictEqual(system["istio-injection"], undefined);
        const [, canary] = labelsOf((await install({ version: "1.28.0", revision: "1-28" })).mocks);
        assert.deepStrictEqual([canary["istio.io/rev"], canary["istio-injection"]], ["1-28", undefined]);
    });

    it("orders the releases base -> cni -> istiod -> gateway", async () => {
        const { deps } = await install({ version: "1.28.0" });
        assert.deepStrictEqual(await deps.of("mesh-base"), []);
        assert.deepStrictEqual(await deps.of("mesh-cni"), ["mesh-base"]);
        assert.deepStrictEqual(await deps.of("mesh-istiod"), ["mesh-base", "mesh-cni"]);
        assert.deepStrictEqual(await deps.of("mesh-gateway"), ["mesh-istiod"]);
    });

    it("Istio CNI: the cni chart in kube-system and the injector told to use it; cni: false installs neither", async () => {
        const on = (await install({ chartDir: "/opt/istio/charts" })).mocks;
        const cni = on.ofType(RELEASE).find((r) => r.name === "mesh-cni")!;
        assert.deepStrictEqual(
            [cni.inputs.name, cni.inputs.namespace, cni.inputs.chart, cni.inputs.values],
            ["istio-cni", "kube-system", "/opt/istio/charts/cni", {}],
        );
        const istiodOn = on.ofType(RELEASE).find((r) => r.name === "mesh-istiod")!;
        assert.deepStrictEqual(istiodOn.inputs.values.cni, { enabled: true });
        // No namespace is created for it: kube-system exists, and istiod's namespace keeps its own level.
        assert.deepStrictEqual(
            on.ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name),
            ["istio-system", "istio-ingress"],
        );

        const { mocks: off, deps } = await install({ chartDir: "/opt/istio/charts", cni: false });
        assert.deepStrictEqual(
            off.ofType(RELEASE).map((r) => r.name),
            ["mesh-base", "mesh-istiod", "mesh-gateway"],
        );
        assert.deepStrictEqual(off.ofType(RELEASE)[1].inputs.values.cni, { enabled: false });
        assert.deepStrictEqual(await deps.of("mesh-istiod"), ["mesh-base"]);
    });

    it("uses local chart directories instead of a repository", async () => {
        const { mocks } = await install({ chartDir: "/opt/istio/charts" });
        for (const r of mocks.ofType(RELEASE)) {
            assert.strictEqual(r.inputs.repositoryOpts, undefined);
            assert.strictEqual(r.inputs.version, undefined);
        }
        assert.deepStrictEqual(
            mocks.ofType(RELEASE).map((r) => r.inputs.chart),
            [
                "/opt/istio/charts/base",
                "/opt/istio/charts/cni",
                "/opt/istio/charts/istiod",
                "/opt/istio/charts/gateway",
            ],
        );
    });

    it("passes values through, over its own", async () => {
        const { mocks } = await install({
            version: "1.28.0",
            gatewayServiceType: "ClusterIP",
            istiodValues: { pilot: { resources: { requests: { cpu: "50m" } } }, global: { logAsJson: true } },
            gatewayValues: { autoscaling: { enabled: false } },
        });
        const [base, , istiod, gateway] = mocks.ofType(RELEASE);
        assert.deepStrictEqual(base.inputs.values, {
            base: { validationFailurePolicy: "Fail" },
            defaultRevision: "default",
        });
        assert.deepStrictEqual(istiod.inputs.values, {
            base: { validationFailurePolicy: "Fail" },
            seccompProfile: { type: "RuntimeDefault" },
            cni: { enabled: true },
            global: { istioNamespace: "istio-system", logAsJson: true },
            pilot: { resources: { requests: { cpu: "50m" } } },
        });
        assert.deepStrictEqual(gateway.inputs.values, {
            securityContext: {
                sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
                seccompProfile: { type: "RuntimeDefault" },
            },
            service: { type: "ClusterIP" },
            autoscaling: { enabled: false },
        });
    });

    it("a chart repository's user:password go to Helm as secrets, never in the releases' plain inputs", async () => {
        const { mocks } = await install({
            version: "1.28.0",
            repository: "https://bot:pa55%40word@charts.example.com/istio",
        });
        const releases = mocks.ofType(RELEASE);
        assert.strictEqual(releases.length, 4);
        for (const r of releases) {
            // The SDK makes the whole repositoryOpts a secret, as it holds secrets: encrypted in the state.
            assert.ok(isSecretValue(r.inputs.repositoryOpts), "the repository options are a secret");
            assert.deepStrictEqual(plain(r.inputs.repositoryOpts), {
                repo: "https://charts.example.com/istio",
                username: "bot",
                password: "pa55@word",
            });
            const visible = JSON.stringify(r.inputs, (_k, v: unknown) => (isSecretValue(v) ? "[secret]" : v));
            assert.ok(!visible.includes("pa55"), visible);
        }
    });

    it("installs a revision with revisioned release names and no default revision", async () => {
        const { mocks, mesh } = await install({ version: "1.28.0", revision: "canary-1-28" });
        const [base, cni, istiod, gateway] = mocks.ofType(RELEASE);
        assert.deepStrictEqual(base.inputs.values, { base: { validationFailurePolicy: "Fail" }, defaultRevision: "" });
        assert.deepStrictEqual(cni.inputs.values, { revision: "canary-1-28" });
        assert.strictEqual(istiod.inputs.name, "istiod-canary-1-28");
        assert.strictEqual(istiod.inputs.values.revision, "canary-1-28");
        assert.strictEqual(gateway.inputs.values.revision, "canary-1-28");
        assert.strictEqual(await value(mesh.revision), "canary-1-28");
    });

    it("installs nothing with install: false, but still reports where the gateway runs", async () => {
        const { mocks, mesh } = await install({ install: false, gatewayNamespace: "edge", gatewayName: "public-gw" });
        assert.deepStrictEqual(mocks.custom(), []);
        assert.strictEqual(await value(mesh.gatewayNamespace), "edge");
        assert.deepStrictEqual(await value(mesh.gatewaySelector), { app: "public-gw", istio: "public-gw" });
    });

    it("rejects bad arguments before registering anything", async () => {
        let error: Error | undefined;
        const mocks = await withMocks(() => {
            try {
                new IstioMesh("mesh", { gatewayServiceType: "Ingress" as never, namespace: "Istio" });
            } catch (e) {
                error = e as Error;
            }
        });
        assert.strictEqual(
            error?.message,
            [
                'namespace must be a DNS-1123 label (lower-case letters, digits and "-", at most 63); got "Istio"',
                'gatewayServiceType must be one of LoadBalancer, ClusterIP, NodePort; got "Ingress"',
                'version is required when Istio is installed from a chart repository (a chart version such as "1.28.0"); or set chartDir, or install to false',
            ].join("\n"),
        );
        assert.deepStrictEqual(mocks.resources, []);
    });

    it("reports the gateway's service account, as the gateway chart names it", async () => {
        assert.strictEqual(
            await value((await install({ version: "1.28.0" })).mesh.gatewayServiceAccount),
            "istio-ingressgateway",
        );
        const { mesh } = await install({ install: false, gatewayName: "public-gw" });
        assert.strictEqual(await value(mesh.gatewayServiceAccount), "public-gw");
    });

    describe("gatewayServiceAccount", () => {
        it("follows the gateway chart's helper: serviceAccount.name, else the gateway's name, else the release name", () => {
            assert.strictEqual(gatewayServiceAccount("istio-ingressgateway"), "istio-ingressgateway");
            assert.strictEqual(gatewayServiceAccount("gw", { name: "edge" }), "edge");
            assert.strictEqual(gatewayServiceAccount("gw", { name: "edge", serviceAccount: { name: "id" } }), "id");
            assert.strictEqual(gatewayServiceAccount("gw", { serviceAccount: { name: "" } }), "gw");
            assert.strictEqual(gatewayServiceAccount("gw", { serviceAccount: { create: false } }), "default");
            assert.strictEqual(gatewayServiceAccount("gw", { serviceAccount: { create: false, name: "id" } }), "id");
        });
    });

    describe("gatewaySelector", () => {
        it("follows the gateway chart's labels for a release name", () => {
            assert.deepStrictEqual(gatewaySelector("istio-ingressgateway"), {
                app: "istio-ingressgateway",
                istio: "ingressgateway",
            });
            assert.deepStrictEqual(gatewaySelector("public-gateway"), {
                app: "public-gateway",
                istio: "public-gateway",
            });
        });
        it("honours label overrides in the gateway values", () => {
            assert.deepStrictEqual(gatewaySelector("istio-ingressgateway", { labels: { istio: "edge" } }), {
                app: "istio-ingressgateway",
                istio: "edge",
            });
        });
    });
});

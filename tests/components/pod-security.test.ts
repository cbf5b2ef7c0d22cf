/** Pod Security: the levels the namespaces enforce, and the pods that meet them (the components' and Istio's). */
import * as assert from "assert";
import { CanaryRelease } from "../../components/canary-release";
import { IstioMesh, IstioMeshArgs } from "../../components/istio-mesh";
import { gatewayPodSecurityValues, istiodPodSecurityValues, podSecurityLabels } from "../../components/pod-security";
import { mergeValues } from "../../components/values";
import { withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";
import { gatewayChartPod, injectedGatewayPod, istiodChartPod } from "../fixtures/istio-chart-pods";
import { baselineViolations, restrictedViolations } from "./restricted";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const RELEASE = "kubernetes:helm.sh/v3:Release";

async function mesh(args: IstioMeshArgs) {
    return withMocks(() => {
        new IstioMesh("mesh", args);
    });
}

describe("Pod Security", () => {
    it("podSecurityLabels: enforces the level given, warns and audits at restricted", () => {
        assert.deepStrictEqual(podSecurityLabels("baseline"), {
            "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        });
    });

    it("CanaryRelease enforces the restricted level on its namespace by default", async () => {
        const mocks = await withMocks(() => {
            new CanaryRelease("shop", releaseArgs());
        });
        const labels = mocks.one(NAMESPACE).inputs.metadata.labels;
        assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("the pods CanaryRelease renders meet the restricted level, with and without the service account and /tmp", async () => {
        for (const extra of [{}, { serviceAccount: false, tmpVolume: false, ephemeralStorage: false }]) {
            const mocks = await withMocks(() => {
                new CanaryRelease("shop", releaseArgs(extra));
            });
            for (const d of mocks.ofType("kubernetes:apps/v1:Deployment")) {
                assert.deepStrictEqual(restrictedViolations(d.inputs.spec.template.spec), [], d.name);
            }
        }
        // The checker finds what restricted refuses.
        assert.deepStrictEqual(
            restrictedViolations({
                volumes: [{ name: "host", hostPath: { path: "/" } }],
                containers: [{ name: "c", securityContext: { capabilities: { add: ["NET_ADMIN"] } } }],
            }),
            [
                "volume host is a hostPath",
                "container c adds capability NET_ADMIN",
                "volume host is of a type restricted does not allow",
                "container c does not set allowPrivilegeEscalation false",
                "container c does not run as non-root (runAsNonRoot)",
                "container c has no RuntimeDefault or Localhost seccomp profile",
                "container c does not drop ALL capabilities",
                "container c adds capability NET_ADMIN (restricted allows only NET_BIND_SERVICE)",
            ],
        );
    });

    it("Istio's gateway and istiod pods meet only baseline with their charts' defaults, restricted with IstioMesh's values", () => {
        assert.deepStrictEqual(baselineViolations(gatewayChartPod()), []);
        assert.deepStrictEqual(restrictedViolations(gatewayChartPod()), [
            "container istio-proxy has no RuntimeDefault or Localhost seccomp profile",
        ]);
        assert.deepStrictEqual(baselineViolations(istiodChartPod()), []);
        assert.deepStrictEqual(restrictedViolations(istiodChartPod()), [
            "container discovery has no RuntimeDefault or Localhost seccomp profile",
        ]);
        const gateway = gatewayChartPod(gatewayPodSecurityValues());
        assert.deepStrictEqual(restrictedViolations(gateway), []);
        assert.deepStrictEqual(restrictedViolations(injectedGatewayPod(gateway)), [], "after sidecar injection too");
        assert.deepStrictEqual(
            gateway.securityContext.sysctls,
            gatewayChartPod().securityContext.sysctls,
            "the chart's own sysctl is kept",
        );
        assert.deepStrictEqual(restrictedViolations(istiodChartPod(istiodPodSecurityValues())), []);
        // A user's values merge over ours: another sysctl list replaces ours, the seccomp profile stays.
        const merged = mergeValues(gatewayPodSecurityValues(), { securityContext: { fsGroup: 1337 } });
        assert.deepStrictEqual(restrictedViolations(gatewayChartPod(merged)), []);
    });

    it("IstioMesh labels istiod's and the gateway's namespaces restricted and gives their charts the seccomp profile", async () => {
        const mocks = await mesh({ version: "1.31.0" });
        for (const ns of mocks.ofType(NAMESPACE)) {
            const { "istio-injection": _injection, ...security } = ns.inputs.metadata.labels;
            assert.deepStrictEqual(security, podSecurityLabels("restricted"), ns.inputs.metadata.name);
        }
        const [, , istiod, gateway] = mocks.ofType(RELEASE);
        assert.deepStrictEqual(istiod.inputs.values.seccompProfile, { type: "RuntimeDefault" });
        assert.deepStrictEqual(gateway.inputs.values.securityContext, {
            sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("IstioMesh enforces another level where asked (Istio CNI needs privileged), and rejects an unknown one", async () => {
        const mocks = await mesh({ version: "1.31.0", podSecurityEnforce: "privileged" });
        assert.deepStrictEqual(
            mocks.ofType(NAMESPACE).map((n) => n.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]),
            ["privileged", "privileged"],
        );
        await assert.rejects(mesh({ version: "1.31.0", podSecurityEnforce: "strict" as never }), {
            message: 'podSecurityEnforce must be one of privileged, baseline, restricted; got "strict"',
        });
    });
});

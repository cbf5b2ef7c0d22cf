/** The Istio keys: read straight into {@link IstioMeshArgs}, with the component's defaults. */
import { GATEWAY_SERVICE_TYPES, ISTIO_MESH_DEFAULTS as M, IstioMeshArgs } from "../components/istio-mesh";
import { hasUserInfo } from "../components/redact";
import { Reader } from "./reader";

/** Reads the "Istio" group, and the gateway selector override. */
export function readMesh(r: Reader): { mesh: IstioMeshArgs; gatewaySelector?: Record<string, string> } {
    r.group = "Istio";
    const mesh: IstioMeshArgs = {
        install: r.bool("istioInstall", {
            doc: "Install Istio with Helm (base, istiod, gateway). false where Istio already runs.",
            def: M.install,
            field: "mesh.install",
        }),
        version: r.string("istioVersion", {
            doc: 'Chart version of Istio\'s charts, e.g. "1.28.0" (required with a chart repository).',
            field: "mesh.version",
        }),
        repository: r.string("istioChartRepository", {
            doc: "Helm repository of Istio's charts; one with user:password@ in it must be set with --secret (Helm gets them as a secret username and password).",
            def: M.repository,
            pattern: /^(https?|oci):\/\//,
            accepts: "an http(s):// or oci:// URL",
            field: "mesh.repository",
        }),
        chartDir: r.path("istioChartDir", {
            doc: "Local directory with the base, istiod and gateway charts, used instead of the repository.",
            field: "mesh.chartDir",
        }),
        namespace: r.string("istioNamespace", {
            doc: "Namespace of istiod.",
            def: M.namespace,
            field: "mesh.namespace",
        }),
        revision: r.string("istioRevision", {
            doc: "Istio revision; the app namespace is labelled istio.io/rev=<rev> instead of istio-injection=enabled.",
            field: "mesh.revision",
        }),
        gatewayName: r.string("gatewayName", {
            doc: "Helm release name of the ingress gateway (its pods' labels follow it).",
            def: M.gatewayName,
        }),
        gatewayNamespace: r.string("gatewayNamespace", {
            doc: "Namespace of the ingress gateway (and of the TLS secret).",
            def: M.gatewayNamespace,
        }),
        gatewayServiceType: r.oneOf("gatewayServiceType", {
            doc: "Service type of the ingress gateway (ClusterIP on local clusters).",
            values: GATEWAY_SERVICE_TYPES,
            def: M.gatewayServiceType,
        }),
    };
    if (mesh.repository !== undefined && hasUserInfo(mesh.repository) && !r.isSecret("istioChartRepository")) {
        r.problems.push(
            "istioChartRepository holds credentials (user:password@): set it as a secret so they are encrypted in " +
                "the stack file and state: `pulumi config set --secret istioChartRepository <url>` (Helm gets them as " +
                "a secret username and password)",
        );
    }
    const gatewaySelector = r.object("gatewaySelector", {
        doc: "Labels of the gateway pods, when they cannot be derived from gatewayName (Istio installed by others).",
        stringValues: true,
    }) as Record<string, string> | undefined;
    mesh.baseValues = r.object("istioBaseValues", {
        doc: "Extra values for the base chart.",
        field: "mesh.baseValues",
    });
    mesh.istiodValues = r.object("istiodValues", { doc: "Extra values for the istiod chart." });
    mesh.gatewayValues = r.object("gatewayValues", { doc: "Extra values for the gateway chart." });
    return { mesh, gatewaySelector };
}

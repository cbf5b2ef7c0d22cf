/** The Istio keys: read straight into {@link IstioMeshArgs}, with the component's defaults. */
import { POD_SECURITY_LEVELS } from "../components/canary-release-args";
import { GATEWAY_SERVICE_TYPES, ISTIO_MESH_DEFAULTS as M, IstioMeshArgs } from "../components/istio-mesh";
import { hasUserInfo } from "../components/redact";
import {
    DNS_LABEL_NAME,
    DNS_SUBDOMAIN_NAME,
    HELM_RELEASE_NAME,
    LABEL_KEYS,
    LABEL_VALUES,
    LABELS_ACCEPTS,
    SEMVER,
    urlGrammar,
} from "./grammar";
import { Reader } from "./reader";

/** A chart repository: http(s) or OCI; credentials in it only when the key is a secret (checked in readMesh). */
const CHART_REPOSITORY = urlGrammar(["https?", "oci"], {
    accepts:
        "an http(s):// or oci:// URL with a host (no spaces or fragment, at most 2048; user:password@ only when set with --secret)",
    userInfo: true,
});

/** Reads the "Istio" group, and the gateway selector override. */
export function readMesh(r: Reader): {
    mesh: IstioMeshArgs;
    gatewaySelector?: Record<string, string>;
    gatewayServiceAccount?: string;
} {
    r.group = "Istio";
    const mesh: IstioMeshArgs = {
        install: r.bool("istioInstall", {
            doc: "Install Istio with Helm (base, istiod, gateway). false where Istio already runs.",
            def: M.install,
            field: "mesh.install",
        }),
        version: r.string("istioVersion", {
            ...SEMVER,
            doc: 'Chart version of Istio\'s charts, e.g. "1.28.0" (required with a chart repository).',
            field: "mesh.version",
        }),
        repository: r.string("istioChartRepository", {
            doc: "Helm repository of Istio's charts; one with user:password@ in it must be set with --secret (Helm gets them as a secret username and password).",
            def: M.repository,
            ...CHART_REPOSITORY,
            field: "mesh.repository",
        }),
        chartDir: r.path("istioChartDir", {
            kind: "directory",
            doc: "Local directory with the base, istiod and gateway charts, used instead of the repository.",
            field: "mesh.chartDir",
        }),
        namespace: r.string("istioNamespace", {
            ...DNS_LABEL_NAME,
            doc: "Namespace of istiod.",
            def: M.namespace,
            field: "mesh.namespace",
        }),
        revision: r.string("istioRevision", {
            ...DNS_LABEL_NAME,
            doc: "Istio revision; the app namespace is labelled istio.io/rev=<rev> instead of istio-injection=enabled.",
            field: "mesh.revision",
        }),
        gatewayName: r.string("gatewayName", {
            ...HELM_RELEASE_NAME,
            doc: "Helm release name of the ingress gateway (its pods' labels follow it).",
            def: M.gatewayName,
        }),
        gatewayNamespace: r.string("gatewayNamespace", {
            ...DNS_LABEL_NAME,
            doc: "Namespace of the ingress gateway (and of the TLS secret).",
            def: M.gatewayNamespace,
        }),
        gatewayServiceType: r.oneOf("gatewayServiceType", {
            doc: "Service type of the ingress gateway (ClusterIP on local clusters).",
            values: GATEWAY_SERVICE_TYPES,
            def: M.gatewayServiceType,
        }),
        podSecurityEnforce: r.oneOf("istioPodSecurityEnforce", {
            doc: 'Pod Security level enforced on the namespaces of istiod and the gateway (istioInstall). Their pods meet "restricted"; Istio CNI in istiod\'s namespace needs "privileged".',
            values: POD_SECURITY_LEVELS,
            def: M.podSecurityEnforce,
            field: "mesh.podSecurityEnforce",
        }),
        gatewayApiCrdsDir: r.path("gatewayApiCrdsDir", {
            kind: "directory",
            doc: "Directory of the Kubernetes Gateway API's CRD files (its standard channel's gateway.networking.k8s.io_*.yaml) to install, for routingApi gateway-api; they stay when the stack is destroyed.",
            field: "mesh.gatewayApiCrdsDir",
        }),
        cni: r.optionalBool("istioCni", {
            doc: 'Install Istio CNI with Istio (istioInstall; the cni chart, in kube-system) and turn it on in the sidecar injector: injected pods get istio-validation instead of istio-init (NET_ADMIN, NET_RAW, root), so they meet "restricted". false with a podSecurityEnforce other than "privileged" is refused.',
            shown: 'true unless podSecurityEnforce is "privileged"',
            field: "mesh.cni",
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
        accepts: LABELS_ACCEPTS,
        entries: { names: LABEL_KEYS, values: LABEL_VALUES, nonEmpty: true },
    }) as Record<string, string> | undefined;
    const gatewayServiceAccount = r.string("gatewayServiceAccount", {
        ...DNS_SUBDOMAIN_NAME,
        doc: "Service account of the gateway pods, whose identity the app's AuthorizationPolicy allows, when it cannot be derived from gatewayName and gatewayValues (Istio installed by others).",
        shown: "gatewayName, as the gateway chart names it",
    });
    mesh.baseValues = r.object("istioBaseValues", {
        doc: "Extra values for the base chart.",
        field: "mesh.baseValues",
    });
    mesh.istiodValues = r.object("istiodValues", { doc: "Extra values for the istiod chart." });
    mesh.gatewayValues = r.object("gatewayValues", { doc: "Extra values for the gateway chart." });
    return { mesh, gatewaySelector, gatewayServiceAccount };
}

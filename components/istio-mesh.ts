import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { POD_SECURITY_LEVELS, PodSecurityLevel } from "./canary-release-args";
import { readGatewayApiCrds } from "./gateway-api-crds";
import { gatewaySelector, gatewayServiceAccount, istiodReleaseName } from "./names";
import { gatewayPodSecurityValues, istiodPodSecurityValues, podSecurityLabels } from "./pod-security";
import { hasUserInfo } from "./redact";
import { mergeValues, Values } from "./values";
import { DNS_LABEL, DNS_LABEL_ACCEPTS, describeProblems, FieldNamer, oneOfProblem } from "./validation";

/** Service types the ingress gateway can be exposed with. */
export const GatewayServiceType = {
    /** An external load balancer (cloud clusters). */
    LoadBalancer: "LoadBalancer",
    /** A cluster-internal address (local clusters). */
    ClusterIP: "ClusterIP",
    /** A port on every node. */
    NodePort: "NodePort",
} as const;
export type GatewayServiceType = (typeof GatewayServiceType)[keyof typeof GatewayServiceType];
export const GATEWAY_SERVICE_TYPES: readonly GatewayServiceType[] = Object.values(GatewayServiceType);

/**
 * Extra Helm values, as IstioMeshArgs take them. Their leaves are `any`, not `unknown`: Pulumi's schema inference
 * maps `any` to the schema's Any type and rejects `unknown`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ChartValues = Record<string, any>;

/** Helm's repository options for a chart repository URL. */
export interface RepositoryOpts {
    repo: string;
    username?: pulumi.Output<string>;
    password?: pulumi.Output<string>;
}

/**
 * Helm's repository options for `url`: a URL with user information ("https://user:password@charts.example.com")
 * becomes the URL without it and the user and password as Pulumi secrets, so the credentials never reach the
 * Helm releases' inputs (the state) in plain text.
 */
export function repositoryOpts(url: string): RepositoryOpts {
    if (!hasUserInfo(url)) {
        return { repo: url };
    }
    const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@(.*)$/is.exec(url)!;
    const colon = m[2].indexOf(":");
    const decode = (text: string) => {
        try {
            return decodeURIComponent(text);
        } catch {
            return text;
        }
    };
    return {
        repo: `${m[1]}${m[3]}`,
        username: pulumi.secret(decode(colon < 0 ? m[2] : m[2].slice(0, colon))),
        password: pulumi.secret(decode(colon < 0 ? "" : m[2].slice(colon + 1))),
    };
}

/** Istio's public Helm chart repository. */
export const ISTIO_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";

/** The defaults of IstioMeshArgs' optional fields. */
export const ISTIO_MESH_DEFAULTS = {
    install: true,
    repository: ISTIO_CHART_REPOSITORY,
    namespace: "istio-system",
    gatewayName: "istio-ingressgateway",
    gatewayNamespace: "istio-ingress",
    gatewayServiceType: GatewayServiceType.LoadBalancer as GatewayServiceType,
    timeoutSeconds: 600,
    podSecurityEnforce: "restricted" as PodSecurityLevel,
    cni: true,
} as const;

/**
 * Where Istio CNI runs: its DaemonSet's pods write the node's CNI configuration (hostPath volumes, root), which only
 * Pod Security "privileged" admits, so it goes to kube-system (no Pod Security labels, as on most clusters) and
 * never to istiod's namespace, which enforces `podSecurityEnforce`.
 */
export const ISTIO_CNI_NAMESPACE = "kube-system";
/** Helm release name of Istio CNI. */
export const ISTIO_CNI_RELEASE = "istio-cni";

/**
 * Arguments of IstioMesh. Plain values: they decide which Helm releases exist and the gateway pods' labels.
 * JSDoc here becomes the schema's descriptions: no link tags.
 */
export interface IstioMeshArgs {
    /**
     * Install Istio (base, istiod, ingress gateway). Set false where Istio already runs: nothing is installed and the
     * component only derives the names and labels a CanaryRelease needs. Defaults to true.
     */
    install?: boolean;
    /**
     * Chart version of base, istiod, gateway and cni, for example "1.28.0". Required when the charts come from a
     * repository; ignored with `chartDir` (the local charts carry their own version).
     */
    version?: string;
    /**
     * Helm repository of Istio's charts. Defaults to Istio's public repository,
     * https://istio-release.storage.googleapis.com/charts. User information in it (https://user:password@host/...)
     * is passed to Helm as a secret username and password, never in plain text.
     */
    repository?: string;
    /**
     * A local directory holding the `base`, `istiod`, `gateway` (and, with `cni`, `cni`) chart directories, used instead of
     * `repository` (air-gapped clusters, CI). Defaults to none.
     */
    chartDir?: string;
    /** Namespace of istiod and the Istio base resources. Defaults to "istio-system". */
    namespace?: string;
    /** Istio revision (canary upgrades of Istio itself). Defaults to none (the default revision). */
    revision?: string;
    /** Helm release name of the ingress gateway; the gateway pods' labels follow it. Defaults to "istio-ingressgateway". */
    gatewayName?: string;
    /** Namespace of the ingress gateway. Defaults to "istio-ingress". */
    gatewayNamespace?: string;
    /** Service type of the ingress gateway. Defaults to "LoadBalancer" (use "ClusterIP" on local clusters). */
    gatewayServiceType?: GatewayServiceType;
    /** Extra values for the base chart, deep-merged over ours. Defaults to none. */
    baseValues?: ChartValues;
    /** Extra values for the istiod chart, deep-merged over ours. Defaults to none. */
    istiodValues?: ChartValues;
    /** Extra values for the gateway chart, deep-merged over ours. Defaults to none. */
    gatewayValues?: ChartValues;
    /** Timeout in seconds for each Helm release to become ready. Defaults to 600. */
    timeoutSeconds?: number;
    /**
     * Pod Security level enforced on the namespaces this component creates (istiod's and the gateway's). istiod's
     * and the gateway's pods meet "restricted" with the seccomp profile this component sets in their chart values;
     * Istio CNI in istiod's namespace needs "privileged". Defaults to "restricted".
     */
    podSecurityEnforce?: PodSecurityLevel;
    /**
     * Install Istio CNI (the `cni` chart, as Helm release "istio-cni" in kube-system) and turn it on in istiod's
     * sidecar injector (the istiod chart's `cni.enabled`): injected pods then get the unprivileged istio-validation
     * init container instead of istio-init (NET_ADMIN, NET_RAW, user 0), so they meet Pod Security "restricted". Set
     * false only where the apps' namespaces enforce "privileged". Defaults to true.
     */
    cni?: boolean;
    /**
     * Directory of the Kubernetes Gateway API's CRD files to install (its standard channel's
     * `gateway.networking.k8s.io_*.yaml`, such as scripts/toolchain/gateway-api.sh extracts from the
     * sigs.k8s.io/gateway-api module), for CanaryRelease's `routingApi: "gateway-api"`. Applied server-side and
     * forced (CRDs already in the cluster are taken over at this version), and kept when the stack is destroyed:
     * other workloads may use them. Independent of `install`. Defaults to none (not installed).
     */
    gatewayApiCrdsDir?: string;
}

/**
 * The problem of running sidecar injection without Istio CNI in a namespace that enforces `level`: the injected
 * istio-init container adds NET_ADMIN and NET_RAW and runs as user 0, which only "privileged" admits (the API server
 * would reject every pod of the app). Undefined when `cni` is on or the level is "privileged". `names` are the
 * caller's names of the two settings (config keys, or IstioMeshArgs.cni and CanaryReleaseArgs.podSecurityEnforce).
 */
export function injectionWithoutCniProblem(
    cni: boolean,
    level: PodSecurityLevel,
    names: { cni: string; level: string },
): string | undefined {
    if (cni || level === "privileged") {
        return undefined;
    }
    return (
        `${names.cni} is false but ${names.level} is "${level}": sidecar injection without Istio CNI adds the ` +
        `istio-init container (capabilities NET_ADMIN and NET_RAW, user 0), which only "privileged" admits, so the ` +
        `API server would reject every pod of the app; set ${names.cni} to true (Istio CNI is installed with ` +
        `Istio), or ${names.level} to "privileged"`
    );
}

/**
 * Returns the problems of `args`, each naming the field (through `name`) and its accepted values. Empty means
 * valid.
 */
export function validateIstioMeshArgs(args: IstioMeshArgs, name: FieldNamer<keyof IstioMeshArgs> = (f) => f): string[] {
    const problems: string[] = [];
    const install = args.install ?? ISTIO_MESH_DEFAULTS.install;
    for (const field of ["namespace", "gatewayNamespace", "gatewayName", "revision"] as const) {
        const value = args[field];
        if (value !== undefined && !DNS_LABEL.test(value)) {
            problems.push(`${name(field)} must be ${DNS_LABEL_ACCEPTS}; got "${value}"`);
        }
    }
    for (const problem of [
        oneOfProblem(name("gatewayServiceType"), args.gatewayServiceType, GATEWAY_SERVICE_TYPES),
        oneOfProblem(name("podSecurityEnforce"), args.podSecurityEnforce, POD_SECURITY_LEVELS),
    ]) {
        if (problem !== undefined) {
            problems.push(problem);
        }
    }
    if (install && args.chartDir === undefined && (args.version === undefined || args.version === "")) {
        problems.push(
            `${name("version")} is required when Istio is installed from a chart repository (a chart version such as "1.28.0"); ` +
                `or set ${name("chartDir")}, or ${name("install")} to false`,
        );
    }
    return problems;
}

/**
 * Istio installed with Helm: the base chart (CRDs, cluster roles), then Istio CNI (unless `cni` is false), then
 * istiod, then an ingress gateway, each waiting for the one before. With `install: false` it installs nothing and only reports where Istio runs.
 */
export class IstioMesh extends pulumi.ComponentResource {
    /** Namespace of istiod. */
    public readonly namespace: pulumi.Output<string>;
    /** Namespace of the ingress gateway pods; TLS secrets named by Gateways must live here. */
    public readonly gatewayNamespace: pulumi.Output<string>;
    /** Labels of the ingress gateway pods, for a Gateway's selector. */
    public readonly gatewaySelector: pulumi.Output<Record<string, string>>;
    /** Service account of the ingress gateway pods: the identity an app's AuthorizationPolicy allows. */
    public readonly gatewayServiceAccount: pulumi.Output<string>;
    /** Istio revision, if any. */
    public readonly revision: pulumi.Output<string | undefined>;

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = validateIstioMeshArgs(args);
        if (problems.length > 0) {
            throw new Error(describeProblems(problems));
        }
        // Read before anything is registered: a directory that is not one fails here.
        const gatewayApiCrds = args.gatewayApiCrdsDir !== undefined ? readGatewayApiCrds(args.gatewayApiCrdsDir) : [];
        super("istio-canary:index:IstioMesh", name, {}, opts);
        for (const crd of gatewayApiCrds) {
            new k8s.apiextensions.v1.CustomResourceDefinition(
                `${name}-crd-${crd.metadata.name}`,
                {
                    metadata: {
                        ...crd.metadata,
                        annotations: { ...crd.metadata.annotations, "pulumi.com/patchForce": "true" },
                    },
                    spec: crd.spec as unknown as k8s.types.input.apiextensions.v1.CustomResourceDefinitionSpec,
                },
                { parent: this, retainOnDelete: true },
            );
        }

        const D = ISTIO_MESH_DEFAULTS;
        const namespace = args.namespace ?? D.namespace;
        const gatewayNamespace = args.gatewayNamespace ?? D.gatewayNamespace;
        const revision = args.revision;
        const gatewayName = args.gatewayName ?? D.gatewayName;
        this.namespace = pulumi.output(namespace);
        this.gatewayNamespace = pulumi.output(gatewayNamespace);
        this.revision = pulumi.output(revision);
        this.gatewaySelector = pulumi.output(gatewaySelector(gatewayName, args.gatewayValues));
        this.gatewayServiceAccount = pulumi.output(gatewayServiceAccount(gatewayName, args.gatewayValues));

        if (args.install ?? D.install) {
            const chart = (dir: string) =>
                args.chartDir !== undefined
                    ? { chart: path.resolve(args.chartDir, dir) }
                    : {
                          chart: dir,
                          version: args.version,
                          repositoryOpts: repositoryOpts(args.repository ?? D.repository),
                      };
            const timeout = args.timeoutSeconds ?? D.timeoutSeconds;
            const revisionValues: Values = revision !== undefined ? { revision } : {};
            // Istio pitfall: both charts render the config-validation webhook's failurePolicy as Ignore on a fresh
            // install but leave it out (so the API server makes it Fail) on a Helm upgrade. Pin it, so install and
            // upgrade behave the same; custom resources wait for istiod (see CanaryRelease's dependsOn).
            const validation: Values = { base: { validationFailurePolicy: "Fail" } };

            const labels = podSecurityLabels(args.podSecurityEnforce ?? D.podSecurityEnforce);
            const cni = args.cni ?? D.cni;
            const systemNs = new k8s.core.v1.Namespace(
                `${name}-system-ns`,
                { metadata: { name: namespace, labels } },
                { parent: this },
            );
            // The gateway chart's pods ask for injection themselves (a pod label and the gateway template); the
            // namespace's injection label says so too, or `istioctl analyze` reports it (IST0102). Either way the
            // injector renders the gateway template.
            const injection: Record<string, string> =
                revision !== undefined ? { "istio.io/rev": revision } : { "istio-injection": "enabled" };
            const gatewayNs = new k8s.core.v1.Namespace(
                `${name}-gateway-ns`,
                { metadata: { name: gatewayNamespace, labels: { ...labels, ...injection } } },
                { parent: this },
            );
            const base = new k8s.helm.v3.Release(
                `${name}-base`,
                {
                    name: "istio-base",
                    namespace: systemNs.metadata.name,
                    ...chart("base"),
                    values: mergeValues(
                        { ...validation, defaultRevision: revision === undefined ? "default" : "" },
                        args.baseValues,
                    ),
                    timeout,
                },
                { parent: this },
            );
            // Istio CNI before istiod: its node agent is ready before any pod that counts on it is injected.
            const cniRelease = cni
                ? [
                      new k8s.helm.v3.Release(
                          `${name}-cni`,
                          {
                              name: ISTIO_CNI_RELEASE,
                              namespace: ISTIO_CNI_NAMESPACE,
                              ...chart("cni"),
                              values: revisionValues,
                              timeout,
                          },
                          { parent: this, dependsOn: [base] },
                      ),
                  ]
                : [];
            const istiod = new k8s.helm.v3.Release(
                `${name}-istiod`,
                {
                    name: istiodReleaseName(revision),
                    namespace: systemNs.metadata.name,
                    ...chart("istiod"),
                    values: mergeValues(
                        {
                            ...revisionValues,
                            ...validation,
                            ...istiodPodSecurityValues(),
                            cni: { enabled: cni },
                            global: { istioNamespace: namespace },
                        },
                        args.istiodValues,
                    ),
                    timeout,
                },
                { parent: this, dependsOn: [base, ...cniRelease] },
            );
            new k8s.helm.v3.Release(
                `${name}-gateway`,
                {
                    name: gatewayName,
                    namespace: gatewayNs.metadata.name,
                    ...chart("gateway"),
                    values: mergeValues(
                        {
                            ...revisionValues,
                            ...gatewayPodSecurityValues(),
                            service: { type: args.gatewayServiceType ?? D.gatewayServiceType },
                        },
                        args.gatewayValues,
                    ),
                    timeout,
                },
                { parent: this, dependsOn: [istiod] },
            );
        }

        this.registerOutputs({
            namespace: this.namespace,
            gatewayNamespace: this.gatewayNamespace,
            gatewaySelector: this.gatewaySelector,
            gatewayServiceAccount: this.gatewayServiceAccount,
            revision: this.revision,
        });
    }
}

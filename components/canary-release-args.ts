/**
 * The arguments of CanaryRelease: their types, their defaults (written here once; the stack config's reference
 * shows the same values) and their limits. Validation is in canary-release-rules.ts.
 *
 * The types are those Pulumi's schema inference accepts, so the package works from every language (YAML, Python,
 * Go, C#): interfaces, enums as `as const` objects, no unions but optional ones. Values a user could compute
 * from another resource (images, versions, hosts, weights, replicas, TLS material, where the gateway runs) are
 * `Input`s; the others shape which resources exist and what they are named, so they are plain values.
 * JSDoc here becomes the schema's descriptions: no link tags (they come out as "[object Object]").
 */
import * as pulumi from "@pulumi/pulumi";
import { ConnectionPoolSettings, HTTPRetry, OutlierDetection, TLSProtocolVersion } from "./istio-types";
import { CookieMatch, HeaderMatch, SessionAffinity, WEIGHT_LIMITS } from "./routing";
import { INT32_MAX, IntLimits } from "./validation";

/** What one track runs. */
export interface TrackArgs {
    /** Container image, ideally pinned by digest. */
    image: pulumi.Input<string>;
    /** Release version, written to the pods' `version` label (Istio's destination_version). */
    version: pulumi.Input<string>;
}

/** TLS for the Gateway: a certificate and key to store (both), or the name of an existing secret. */
export interface TlsArgs {
    /** PEM certificate (chain), leaf first; set together with `key`. */
    cert?: pulumi.Input<string>;
    /** PEM private key of `cert`; stored as a Pulumi secret. */
    key?: pulumi.Input<string>;
    /** Name of an existing kubernetes.io/tls Secret in the gateway namespace, instead of `cert` and `key`. */
    secretName?: pulumi.Input<string>;
}

/** Where the ingress gateway runs. */
export interface GatewayArgs {
    /** Namespace of the gateway pods; the TLS secret goes there. */
    namespace: pulumi.Input<string>;
    /** Labels of the gateway pods, for the Gateway's selector. */
    selector: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Service account of the gateway pods: the AuthorizationPolicy lets its identity call the app. Defaults to the
     * selector's `app` label (Istio's gateway chart names both after its release), else "istio-ingressgateway".
     */
    serviceAccount?: pulumi.Input<string>;
}

/** Container resources. */
export interface ResourceArgs {
    /** CPU request, such as "100m". */
    cpuRequest?: string;
    /** Memory request, such as "128Mi". */
    memoryRequest?: string;
    /** CPU limit, such as "500m". */
    cpuLimit?: string;
    /** Memory limit, such as "256Mi". */
    memoryLimit?: string;
    /** Ephemeral storage request (/tmp, logs, the writable layer), with `ephemeralStorage`. Defaults to "64Mi". */
    ephemeralStorageRequest?: string;
    /** Ephemeral storage limit (the kubelet evicts a pod that writes more), with `ephemeralStorage`. Defaults to "512Mi". */
    ephemeralStorageLimit?: string;
}

/**
 * Autoscaling: a HorizontalPodAutoscaler per track. The stable's scales between `replicas` and `maxReplicas`; the
 * canary's bounds follow its weight. Pulumi sets a Deployment's replicas only when it creates it.
 */
export interface AutoscalingArgs {
    /** Most replicas of the stable track; the canary's maximum is its weight's share of it. */
    maxReplicas: number;
    /** Average CPU utilisation (percent of the CPU request) the HPAs keep the pods at. Defaults to 80. */
    targetCpuUtilization?: number;
    /** Seconds the HPAs look back before they scale in (behavior.scaleDown.stabilizationWindowSeconds). Defaults to Kubernetes' 300. */
    scaleDownStabilizationSeconds?: number;
    /**
     * The stable's current replica count (what its HPA chose) as the caller read it; the canary's minimum is the
     * weight's share of it (never of fewer than `replicas`). The release bot pins it in stack config for its updates
     * (`releaseStableReplicas`), so that a saved plan still matches when the HPA moves between preview and update.
     * Defaults to a read of the live stable Deployment at each update while the canary exists.
     */
    stableReplicas?: number;
}

/** Pod Security Standards levels. */
export const PodSecurityLevel = {
    /** No restrictions (sidecar injection without Istio CNI needs it). */
    Privileged: "privileged",
    /** Prevents known privilege escalations. */
    Baseline: "baseline",
    /** Current pod hardening best practices. */
    Restricted: "restricted",
} as const;
export type PodSecurityLevel = (typeof PodSecurityLevel)[keyof typeof PodSecurityLevel];
export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = Object.values(PodSecurityLevel);

/** Application protocols Istio selects by port name. */
export const AppProtocol = {
    /** HTTP/1.1. */
    Http: "http",
    /** HTTP/2. */
    Http2: "http2",
    /** gRPC. */
    Grpc: "grpc",
} as const;
export type AppProtocol = (typeof AppProtocol)[keyof typeof AppProtocol];
export const APP_PROTOCOLS: readonly AppProtocol[] = Object.values(AppProtocol);

/** The APIs a release's traffic can be routed with. */
export const RoutingApi = {
    /** Istio's own: a VirtualService, a DestinationRule with a subset per track, and an Istio Gateway. */
    Istio: "istio",
    /** The Kubernetes Gateway API (standard channel): a Gateway, HTTPRoutes, and a Service per track. */
    GatewayApi: "gateway-api",
} as const;
export type RoutingApi = (typeof RoutingApi)[keyof typeof RoutingApi];
export const ROUTING_APIS: readonly RoutingApi[] = Object.values(RoutingApi);

/** TLS versions a Gateway may require as its minimum. */
export const TLS_MIN_VERSIONS: readonly TLSProtocolVersion[] = Object.values(TLSProtocolVersion);

/** The defaults of CanaryReleaseArgs' optional fields. */
export const CANARY_RELEASE_DEFAULTS = {
    createNamespace: true,
    podSecurityEnforce: PodSecurityLevel.Restricted as PodSecurityLevel,
    canaryWeight: 0,
    replicas: 2,
    canaryReplicas: 1,
    canaryScaling: false,
    containerPort: 8080,
    servicePort: 80,
    protocol: AppProtocol.Http as AppProtocol,
    routingApi: RoutingApi.Istio as RoutingApi,
    probePath: "/",
    resources: {
        cpuRequest: "100m",
        memoryRequest: "128Mi",
        cpuLimit: "500m",
        memoryLimit: "256Mi",
        ephemeralStorageRequest: "64Mi",
        ephemeralStorageLimit: "512Mi",
    },
    rolloutTimeoutSeconds: 600,
    autoscalingTargetCpuUtilization: 80,
    autoscalingMaxReplicas: 10,
    runAsUser: 65532,
    tlsMinVersion: TLSProtocolVersion.TLSV1_2 as TLSProtocolVersion,
    httpsRedirect: true,
    mirrorPercent: 0,
    sessionAffinityMaxAgeSeconds: 86_400,
    serviceAccount: true,
    tmpVolume: true,
    ephemeralStorage: true,
    podDisruptionBudgets: true,
    peerAuthentication: true,
    authorizationPolicy: true,
    /** The gateway's service account when neither it nor the selector's `app` label is given (the chart's default). */
    gatewayServiceAccount: "istio-ingressgateway",
} as const;

/**
 * The ingress gateway's namespace and service account (its Service has the same name, as Istio's gateway chart
 * makes them): the given account, else the selector's `app` label, else the chart's default.
 */
export function gatewayAccountOf(gateway: GatewayArgs): pulumi.Output<{ namespace: string; account: string }> {
    return pulumi
        .all([gateway.namespace, gateway.serviceAccount, gateway.selector])
        .apply(([namespace, account, selector]) => ({
            namespace,
            account: account ?? selector.app ?? CANARY_RELEASE_DEFAULTS.gatewayServiceAccount,
        }));
}

/** The ranges of CanaryReleaseArgs' integer fields. */
export const CANARY_RELEASE_LIMITS = {
    canaryWeight: WEIGHT_LIMITS,
    replicas: { min: 1, max: INT32_MAX },
    canaryReplicas: { min: 0, max: INT32_MAX },
    containerPort: { min: 1, max: 65535 },
    servicePort: { min: 1, max: 65535 },
    runAsUser: { min: 1, max: INT32_MAX },
    rolloutTimeoutSeconds: { min: 30, max: 86_400 },
    retryAttempts: { min: 0, max: 100 },
    autoscalingMaxReplicas: { min: 1, max: INT32_MAX },
    autoscalingTargetCpuUtilization: { min: 1, max: 1000 },
    autoscalingScaleDownStabilizationSeconds: { min: 0, max: 3600 },
    autoscalingStableReplicas: { min: 1, max: INT32_MAX },
    sessionAffinityMaxAgeSeconds: { min: 1, max: 31_536_000 },
} as const satisfies Record<string, Required<IntLimits>>;

/** Longest app name: Deployments are named `<app>-stable` and `<app>-canary` (DNS labels of at most 63). */
export const MAX_APP_NAME_LENGTH = 56;

/** Arguments of CanaryRelease. */
export interface CanaryReleaseArgs {
    /** Application name: names the Service and the Deployments `<app>-stable` and `<app>-canary`. */
    app: string;
    /** Namespace of the application. Defaults to the app name. */
    namespace?: string;
    /** Create the namespace (with injection and Pod Security labels). Set false to use an existing one. Defaults to true. */
    createNamespace?: boolean;
    /** Istio revision for sidecar injection: labels the namespace `istio.io/rev=<rev>` instead of `istio-injection=enabled`. Defaults to none. */
    istioRevision?: string;
    /**
     * Pod Security level enforced on the namespace. The pods this component renders meet "restricted"; sidecar
     * injection without Istio CNI adds an init container with NET_ADMIN and NET_RAW, which needs "privileged".
     * Defaults to "restricted".
     */
    podSecurityEnforce?: PodSecurityLevel;
    /** What the stable track runs. */
    stable: pulumi.Input<TrackArgs>;
    /** What the canary track runs. Defaults to the stable track (no release in progress). */
    canary?: pulumi.Input<TrackArgs>;
    /** Percentage (integer 0..100) of the default route sent to the canary. Defaults to 0. */
    canaryWeight?: pulumi.Input<number>;
    /** Replicas of the stable Deployment; it keeps them through a release so a rollback has full capacity. Defaults to 2. */
    replicas?: pulumi.Input<number>;
    /** Canary replicas; the floor when `canaryScaling` is on. 0 is allowed only while no traffic can reach the canary. Defaults to 1. */
    canaryReplicas?: pulumi.Input<number>;
    /** Scale the canary with its weight: ceil(replicas * weight / 100), at least `canaryReplicas`. Defaults to false. */
    canaryScaling?: boolean;
    /**
     * A HorizontalPodAutoscaler per track (autoscaling/v2, on CPU): the stable's scales from `replicas` to
     * `autoscaling.maxReplicas`, the canary's bounds follow its weight, and Pulumi no longer resets the replica
     * counts they choose. `canaryReplicas` and `canaryScaling` do not apply. Defaults to none (fixed replicas).
     */
    autoscaling?: AutoscalingArgs;
    /** Port the container listens on. Defaults to 8080. */
    containerPort?: number;
    /** Port of the Service. Defaults to 80. */
    servicePort?: number;
    /** Application protocol, used as the Service port name for Istio's protocol selection. Defaults to "http". */
    protocol?: AppProtocol;
    /** Environment variables of the container. Defaults to none. */
    env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** HTTP path of the readiness and liveness probes. Defaults to "/". */
    probePath?: string;
    /** Container resources. Defaults to requests 100m/128Mi/64Mi (CPU, memory, ephemeral storage), limits 500m/256Mi/512Mi. */
    resources?: ResourceArgs;
    /** Seconds `pulumi up` waits for a Deployment rollout before failing (annotation pulumi.com/timeoutSeconds). Defaults to 600. */
    rolloutTimeoutSeconds?: number;
    /** UID the container runs as (non-root). Defaults to 65532. */
    runAsUser?: number;
    /**
     * Create a ServiceAccount `<app>` with automountServiceAccountToken false and run the pods as it (no API token
     * in them; their mesh identity is their own). Set false to run them as the namespace's default account. Defaults
     * to true.
     */
    serviceAccount?: boolean;
    /** Mount an emptyDir at /tmp: the one writable path beside the read-only root filesystem. Defaults to true. */
    tmpVolume?: boolean;
    /** Give the container ephemeral-storage requests and limits (see `resources`). Defaults to true. */
    ephemeralStorage?: boolean;
    /**
     * A PodDisruptionBudget per track: evictions (node drains) take stable pods one at a time and may take every
     * canary pod; written as maxUnavailable, so it holds at any replica count and never holds back a rollback.
     * Defaults to true.
     */
    podDisruptionBudgets?: boolean;
    /** A PeerAuthentication that makes the app's pods accept mutual TLS only (STRICT). Defaults to true. */
    peerAuthentication?: boolean;
    /**
     * An AuthorizationPolicy that lets only the gateway's service account and `allowedPrincipals` call the app's
     * pods; any other caller is denied. Defaults to true.
     */
    authorizationPolicy?: boolean;
    /**
     * Callers allowed besides the gateway, as Istio principals such as "cluster.local/ns/shop/sa/frontend" (the
     * mesh's own callers of the app's Service). Defaults to none.
     */
    allowedPrincipals?: string[];
    /** External hosts served through the gateway, e.g. ["app.example.com"]. */
    hosts: pulumi.Input<pulumi.Input<string>[]>;
    /** Gateway TLS: `cert` and `key`, or `secretName`. */
    tls: TlsArgs;
    /** Minimum TLS version of the HTTPS server. Defaults to "TLSV1_2". */
    tlsMinVersion?: TLSProtocolVersion;
    /** Add an HTTP server on port 80 that redirects to HTTPS. Defaults to true. */
    httpsRedirect?: boolean;
    /**
     * The API the routes are written in: "istio" (a VirtualService, a DestinationRule with a subset per track and an
     * Istio Gateway) or "gateway-api" (the Kubernetes Gateway API's standard channel: a Gateway of class `istio`
     * bound to the existing ingress gateway, a route for it and one for in-mesh callers (GRPCRoutes for a gRPC app,
     * HTTPRoutes otherwise), and a Service per track; its CRDs must be installed, see IstioMesh's
     * `gatewayApiCrdsDir`). What the Gateway API's standard channel cannot express (retries, exportTo,
     * connectionPool, outlierDetection, a TLS minimum other than the default, a gRPC app's timeout) is refused in
     * "gateway-api" mode. The release bot refuses such stacks for now. Defaults to "istio".
     */
    routingApi?: RoutingApi;
    /** Where the ingress gateway runs: its namespace (the TLS secret goes there) and its pods' labels. */
    gateway: GatewayArgs;
    /** Requests with this header go to the canary. Defaults to none. */
    canaryHeader?: HeaderMatch;
    /** Requests with this cookie go to the canary. Defaults to none. */
    canaryCookie?: CookieMatch;
    /** Percentage (0..100) of default-route requests mirrored to the canary. Defaults to 0 (off). */
    mirrorPercent?: number;
    /**
     * Session affinity: while the canary has weight, its responses on the weighted route set the cookie
     * `cookieName=<canary version>` (Max-Age `maxAgeSeconds`, defaults to 86400) and requests carrying it go to the
     * canary, so a user who reached it stays there; at weight 0 (a rollback) both go and holders are back on stable.
     * Defaults to none.
     */
    sessionAffinity?: SessionAffinityArgs;
    /**
     * Namespaces, besides the app's and the gateway's, whose sidecars may use the VirtualService and DestinationRule
     * (Istio's exportTo), such as those of in-mesh callers; ["*"] for every namespace. Defaults to none.
     */
    exportTo?: string[];
    /** Request timeout, e.g. "10s". Defaults to none (Istio's default: none). */
    timeout?: string;
    /** Retry policy. Defaults to none (Istio's default: 2 attempts). */
    retries?: HTTPRetry;
    /** DestinationRule connection pool limits. Defaults to none. */
    connectionPool?: ConnectionPoolSettings;
    /** DestinationRule outlier detection. Defaults to none. */
    outlierDetection?: OutlierDetection;
}

/** {@link CanaryReleaseArgs.sessionAffinity}. */
export interface SessionAffinityArgs {
    /** The cookie's name, an HTTP token such as "canary-session". */
    cookieName: string;
    /** The cookie's lifetime in seconds. Defaults to 86400 (a day). */
    maxAgeSeconds?: number;
}

/** The routes' session affinity for a canary running `canaryVersion` ("" when no canary): undefined when off. */
export function sessionAffinityOf(
    a: SessionAffinityArgs | undefined,
    canaryVersion: string,
): SessionAffinity | undefined {
    if (a === undefined || canaryVersion === "") {
        return undefined;
    }
    const maxAgeSeconds = a.maxAgeSeconds ?? CANARY_RELEASE_DEFAULTS.sessionAffinityMaxAgeSeconds;
    return { cookieName: a.cookieName, maxAgeSeconds, value: canaryVersion };
}

/** CanaryReleaseArgs with every value known: the stack config's shape, and what validation reads. */
export type CanaryReleaseValues = pulumi.Unwrap<CanaryReleaseArgs>;

/** What one track runs, known (the release protocol and promotion read it). */
export type TrackValues = pulumi.Unwrap<TrackArgs>;

/** Gateway TLS, known. */
export type TlsValues = pulumi.Unwrap<TlsArgs>;

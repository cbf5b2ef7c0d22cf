/**
 * The arguments of {@link CanaryRelease}: their types, their defaults (written here once; the stack config's
 * reference shows the same values) and their validation. Messages name the Args fields; callers that know the
 * fields by other names (the stack config's keys) pass a {@link FieldNamer}.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConnectionPoolSettings, HTTPRetry, OutlierDetection, TLSProtocolVersion } from "./istio-types";
import { CookieMatch, HeaderMatch, WEIGHT_LIMITS } from "./routing";
import {
    DNS_LABEL,
    DNS_LABEL_ACCEPTS,
    DURATION,
    DURATION_ACCEPTS,
    FieldNamer,
    HEADER_NAME,
    IMAGE_ACCEPTS,
    IMAGE_REF,
    IntLimits,
    intProblem,
    LABEL_VALUE,
    oneOfProblem,
    retryOnProblems,
    VERSION_ACCEPTS,
} from "./validation";

/** What one track runs. */
export interface TrackArgs {
    /** Container image, ideally pinned by digest. */
    image: string;
    /** Release version, written to the pods' `version` label (Istio's destination_version). */
    version: string;
}

/** TLS for the Gateway: a certificate and key to store, or an existing secret. */
export type TlsArgs =
    | {
          /** PEM certificate (chain), leaf first. */
          cert: pulumi.Input<string>;
          /** PEM private key. Pass a Pulumi secret. */
          key: pulumi.Input<string>;
      }
    | {
          /** Name of an existing kubernetes.io/tls Secret in the gateway namespace. */
          secretName: string;
      };

/** Where the ingress gateway runs. */
export interface GatewayArgs {
    /** Namespace of the gateway pods; the TLS secret goes there. */
    namespace: string;
    /** Labels of the gateway pods, for the Gateway's selector. */
    selector: Record<string, string>;
}

/** Container resources. */
export interface ResourceArgs {
    cpuRequest?: string;
    memoryRequest?: string;
    cpuLimit?: string;
    memoryLimit?: string;
}

/** Pod Security Standards levels. */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** Application protocols Istio selects by port name. */
export const APP_PROTOCOLS = ["http", "http2", "grpc"] as const;
export type AppProtocol = (typeof APP_PROTOCOLS)[number];

/** TLS versions a Gateway may require as its minimum. */
export const TLS_MIN_VERSIONS: readonly TLSProtocolVersion[] = ["TLSV1_2", "TLSV1_3"];

/** The defaults of {@link CanaryReleaseArgs}' optional fields. */
export const CANARY_RELEASE_DEFAULTS = {
    createNamespace: true,
    podSecurityEnforce: "privileged" as PodSecurityLevel,
    canaryWeight: 0,
    replicas: 2,
    canaryReplicas: 1,
    canaryScaling: false,
    containerPort: 8080,
    servicePort: 80,
    protocol: "http" as AppProtocol,
    probePath: "/",
    resources: { cpuRequest: "100m", memoryRequest: "128Mi", cpuLimit: "500m", memoryLimit: "256Mi" },
    rolloutTimeoutSeconds: 600,
    runAsUser: 65532,
    tlsMinVersion: "TLSV1_2" as TLSProtocolVersion,
    httpsRedirect: true,
    mirrorPercent: 0,
} as const;

/** The ranges of {@link CanaryReleaseArgs}' integer fields. */
export const CANARY_RELEASE_LIMITS = {
    canaryWeight: WEIGHT_LIMITS,
    replicas: { min: 1 },
    canaryReplicas: { min: 0 },
    containerPort: { min: 1, max: 65535 },
    servicePort: { min: 1, max: 65535 },
    runAsUser: { min: 1 },
    rolloutTimeoutSeconds: { min: 30 },
    retryAttempts: { min: 0, max: 100 },
} as const satisfies Record<string, IntLimits>;

/** Longest app name: Deployments are named `<app>-stable` and `<app>-canary` (DNS labels of at most 63). */
export const MAX_APP_NAME_LENGTH = 56;

/** Arguments of {@link CanaryRelease}. */
export interface CanaryReleaseArgs {
    /** Application name: names the Service and the Deployments `<app>-stable` and `<app>-canary`. */
    app: string;
    /** Namespace of the application. Defaults to {@link app}. */
    namespace?: string;
    /** Create the namespace (with injection and Pod Security labels). Set false to use an existing one. Defaults to true. */
    createNamespace?: boolean;
    /** Istio revision for sidecar injection: labels the namespace `istio.io/rev=<rev>` instead of `istio-injection=enabled`. Defaults to none. */
    istioRevision?: string;
    /** Pod Security level enforced on the namespace; sidecar injection without Istio CNI needs "privileged". Defaults to "privileged". */
    podSecurityEnforce?: PodSecurityLevel;
    /** What the stable track runs. */
    stable: TrackArgs;
    /** What the canary track runs. Defaults to the stable track (no release in progress). */
    canary?: TrackArgs;
    /** Percentage (integer 0..100) of the default route sent to the canary. Defaults to 0. */
    canaryWeight?: number;
    /** Replicas of the stable Deployment; it keeps them through a release so a rollback has full capacity. Defaults to 2. */
    replicas?: number;
    /** Canary replicas; the floor when {@link canaryScaling} is on. 0 is allowed only while no traffic can reach the canary. Defaults to 1. */
    canaryReplicas?: number;
    /** Scale the canary with its weight: ceil(replicas * weight / 100), at least {@link canaryReplicas}. Defaults to false. */
    canaryScaling?: boolean;
    /** Port the container listens on. Defaults to 8080. */
    containerPort?: number;
    /** Port of the Service. Defaults to 80. */
    servicePort?: number;
    /** Application protocol, used as the Service port name for Istio's protocol selection. Defaults to "http". */
    protocol?: AppProtocol;
    /** Environment variables of the container. Defaults to none. */
    env?: Record<string, string>;
    /** HTTP path of the readiness and liveness probes. Defaults to "/". */
    probePath?: string;
    /** Container resources. Defaults to requests 100m/128Mi, limits 500m/256Mi. */
    resources?: ResourceArgs;
    /** Seconds `pulumi up` waits for a Deployment rollout before failing (annotation pulumi.com/timeoutSeconds). Defaults to 600. */
    rolloutTimeoutSeconds?: number;
    /** UID the container runs as (non-root). Defaults to 65532. */
    runAsUser?: number;
    /** External hosts served through the gateway, e.g. ["app.example.com"]. */
    hosts: string[];
    /** Gateway TLS. */
    tls: TlsArgs;
    /** Minimum TLS version of the HTTPS server. Defaults to "TLSV1_2". */
    tlsMinVersion?: TLSProtocolVersion;
    /** Add an HTTP server on port 80 that redirects to HTTPS. Defaults to true. */
    httpsRedirect?: boolean;
    /** Where the ingress gateway runs: its namespace (the TLS secret goes there) and its pods' labels. */
    gateway: GatewayArgs;
    /** Requests with this header go to the canary. Defaults to none. */
    canaryHeader?: HeaderMatch;
    /** Requests with this cookie go to the canary. Defaults to none. */
    canaryCookie?: CookieMatch;
    /** Percentage (0..100) of default-route requests mirrored to the canary. Defaults to 0 (off). */
    mirrorPercent?: number;
    /** Request timeout, e.g. "10s". Defaults to none (Istio's default: none). */
    timeout?: string;
    /** Retry policy. Defaults to none (Istio's default: 2 attempts). */
    retries?: HTTPRetry;
    /** DestinationRule connection pool limits. Defaults to none. */
    connectionPool?: ConnectionPoolSettings;
    /** DestinationRule outlier detection. Defaults to none. */
    outlierDetection?: OutlierDetection;
}

/** The Args fields validation messages can name (dotted for nested ones). */
export type CanaryReleaseField =
    | Exclude<keyof CanaryReleaseArgs, "stable" | "canary" | "retries">
    | "stable.image"
    | "stable.version"
    | "canary"
    | "canary.image"
    | "canary.version"
    | "retries.attempts"
    | "retries.perTryTimeout"
    | "retries.retryOn";

/** The canary's pods are reachable by some route even at weight 0 (header, cookie or mirror). */
export function canaryRoutable(args: CanaryReleaseArgs): boolean {
    return (
        (args.canaryWeight ?? CANARY_RELEASE_DEFAULTS.canaryWeight) > 0 ||
        args.canaryHeader !== undefined ||
        args.canaryCookie !== undefined ||
        (args.mirrorPercent ?? CANARY_RELEASE_DEFAULTS.mirrorPercent) > 0
    );
}

/**
 * Returns the problems of `args`, each naming the field (through `name`) and its accepted values. Empty means
 * valid.
 */
export function validateCanaryReleaseArgs(
    args: CanaryReleaseArgs,
    name: FieldNamer<CanaryReleaseField> = (f) => f,
): string[] {
    const D = CANARY_RELEASE_DEFAULTS;
    const L = CANARY_RELEASE_LIMITS;
    const p: (string | undefined)[] = [];
    const dns = (field: CanaryReleaseField, value: string | undefined) => {
        if (value !== undefined && !DNS_LABEL.test(value)) {
            p.push(`${name(field)} must be ${DNS_LABEL_ACCEPTS}; got "${value}"`);
        }
    };
    const int = (field: keyof typeof L & CanaryReleaseField, value: number | undefined, def: number) =>
        p.push(intProblem(name(field), value ?? def, L[field]));
    dns("app", args.app);
    if (args.app !== undefined && args.app.length > MAX_APP_NAME_LENGTH) {
        p.push(
            `${name("app")} must be at most ${MAX_APP_NAME_LENGTH} characters (Deployments are named <app>-stable and <app>-canary); got ${args.app.length}`,
        );
    }
    dns("namespace", args.namespace);
    dns("istioRevision", args.istioRevision);
    for (const [track, t] of [
        ["stable", args.stable],
        ["canary", args.canary],
    ] as const) {
        if (t === undefined) {
            continue;
        }
        if (!IMAGE_REF.test(t.image)) {
            p.push(`${name(`${track}.image`)} must be ${IMAGE_ACCEPTS}; got "${t.image}"`);
        }
        if (!LABEL_VALUE.test(t.version)) {
            p.push(`${name(`${track}.version`)} must be ${VERSION_ACCEPTS}; got "${t.version}"`);
        }
    }
    int("canaryWeight", args.canaryWeight, D.canaryWeight);
    int("replicas", args.replicas, D.replicas);
    int("canaryReplicas", args.canaryReplicas, D.canaryReplicas);
    int("containerPort", args.containerPort, D.containerPort);
    int("servicePort", args.servicePort, D.servicePort);
    int("runAsUser", args.runAsUser, D.runAsUser);
    int("rolloutTimeoutSeconds", args.rolloutTimeoutSeconds, D.rolloutTimeoutSeconds);
    p.push(oneOfProblem(name("protocol"), args.protocol, APP_PROTOCOLS));
    p.push(oneOfProblem(name("podSecurityEnforce"), args.podSecurityEnforce, POD_SECURITY_LEVELS));
    p.push(oneOfProblem(name("tlsMinVersion"), args.tlsMinVersion, TLS_MIN_VERSIONS));
    const mirror = args.mirrorPercent ?? D.mirrorPercent;
    if (!(Number.isFinite(mirror) && mirror >= 0 && mirror <= 100)) {
        p.push(`${name("mirrorPercent")} must be a number from 0 to 100; got ${mirror}`);
    }
    if (args.hosts === undefined || args.hosts.length === 0) {
        p.push(`${name("hosts")} must list at least one host name, such as ["app.example.com"]`);
    }
    for (const host of args.hosts ?? []) {
        if (!/^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/.test(host)) {
            p.push(`${name("hosts")} must hold DNS names such as "app.example.com" or "*.example.com"; got "${host}"`);
        }
    }
    if (args.canaryHeader !== undefined && !HEADER_NAME.test(args.canaryHeader.name)) {
        p.push(
            `${name("canaryHeader")} must be an HTTP header name such as "x-canary"; got "${args.canaryHeader.name}"`,
        );
    }
    if (args.canaryCookie !== undefined && !HEADER_NAME.test(args.canaryCookie.name)) {
        p.push(
            `${name("canaryCookie")} must be name=value with a cookie name such as "version=v2"; got "${args.canaryCookie.name}=${args.canaryCookie.value}"`,
        );
    }
    for (const [field, value] of [
        ["timeout", args.timeout],
        ["retries.perTryTimeout", args.retries?.perTryTimeout],
    ] as const) {
        if (value !== undefined && !DURATION.test(value)) {
            p.push(`${name(field)} must be ${DURATION_ACCEPTS}; got "${value}"`);
        }
    }
    if (args.retries !== undefined) {
        p.push(intProblem(name("retries.attempts"), args.retries.attempts, L.retryAttempts));
        if (args.retries.retryOn !== undefined) {
            p.push(...retryOnProblems(name("retries.retryOn"), args.retries.retryOn));
        }
    }
    if (args.canary === undefined && (args.canaryWeight ?? D.canaryWeight) > 0) {
        p.push(
            `${name("canaryWeight")} must be 0 while no canary is set (set ${name("canary")} first); got ${args.canaryWeight}`,
        );
    }
    if ((args.canaryReplicas ?? D.canaryReplicas) === 0 && canaryRoutable(args)) {
        p.push(
            `${name("canaryReplicas")} must be at least 1 while traffic can reach the canary (${name("canaryWeight")} above 0, ` +
                `${name("canaryHeader")}, ${name("canaryCookie")} or ${name("mirrorPercent")}); got 0`,
        );
    }
    return p.filter((x): x is string => x !== undefined);
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    buildDestinationRuleSpec,
    buildGatewaySpec,
    buildVirtualServiceSpec,
    canaryReplicaCount,
    CookieMatch,
    HeaderMatch,
    podLabels,
    selectorLabels,
    splitWeights,
    Track,
    Weights,
} from "./routing";
import {
    ConnectionPoolSettings,
    HTTPRetry,
    ISTIO_NETWORKING_API_VERSION,
    OutlierDetection,
    TLSProtocolVersion,
} from "./istio-types";
import { containerPorts, envVars, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./pod";
import { splitByVersionQuery } from "./promql";
import {
    describeProblems,
    DNS_LABEL,
    DNS_LABEL_ACCEPTS,
    DURATION,
    HEADER_NAME,
    IMAGE_ACCEPTS,
    IMAGE_REF,
    intProblem,
    LABEL_VALUE,
    oneOfProblem,
    VERSION_ACCEPTS,
    retryOnProblems,
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

/** Pod Security Standards levels. */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** Application protocols Istio selects by port name. */
export const APP_PROTOCOLS = ["http", "http2", "grpc"] as const;
export type AppProtocol = (typeof APP_PROTOCOLS)[number];

/** TLS versions a Gateway may require as its minimum. */
export const TLS_MIN_VERSIONS: readonly TLSProtocolVersion[] = ["TLSV1_2", "TLSV1_3"];

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
    resources?: { cpuRequest?: string; memoryRequest?: string; cpuLimit?: string; memoryLimit?: string };
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
    gateway: { namespace: string; selector: Record<string, string> };
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

/** The canary's pods are reachable by some route even at weight 0 (header, cookie or mirror). */
function canaryRoutable(args: CanaryReleaseArgs): boolean {
    return (
        (args.canaryWeight ?? 0) > 0 ||
        args.canaryHeader !== undefined ||
        args.canaryCookie !== undefined ||
        (args.mirrorPercent ?? 0) > 0
    );
}

/** Returns the problems of `args`, each naming the field and its accepted values. Empty means valid. */
export function validateCanaryReleaseArgs(args: CanaryReleaseArgs): string[] {
    const p: (string | undefined)[] = [];
    const dns = (field: string, value: string | undefined) => {
        if (value !== undefined && !DNS_LABEL.test(value)) {
            p.push(`${field} must be ${DNS_LABEL_ACCEPTS}; got "${value}"`);
        }
    };
    dns("app", args.app);
    if (args.app !== undefined && args.app.length > 56) {
        p.push(
            `app must be at most 56 characters (Deployments are named <app>-stable and <app>-canary); got ${args.app.length}`,
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
            p.push(`${track}Image must be ${IMAGE_ACCEPTS}; got "${t.image}"`);
        }
        if (!LABEL_VALUE.test(t.version)) {
            p.push(`${track}Version must be ${VERSION_ACCEPTS}; got "${t.version}"`);
        }
    }
    p.push(intProblem("canaryWeight", args.canaryWeight ?? 0, 0, 100));
    p.push(intProblem("replicas", args.replicas ?? 2, 1));
    p.push(intProblem("canaryReplicas", args.canaryReplicas ?? 1, 0));
    p.push(intProblem("containerPort", args.containerPort ?? 8080, 1, 65535));
    p.push(intProblem("servicePort", args.servicePort ?? 80, 1, 65535));
    p.push(intProblem("runAsUser", args.runAsUser ?? 65532, 1));
    p.push(intProblem("rolloutTimeoutSeconds", args.rolloutTimeoutSeconds ?? 600, 30));
    p.push(oneOfProblem("protocol", args.protocol, APP_PROTOCOLS));
    p.push(oneOfProblem("podSecurityEnforce", args.podSecurityEnforce, POD_SECURITY_LEVELS));
    p.push(oneOfProblem("tlsMinVersion", args.tlsMinVersion, TLS_MIN_VERSIONS));
    const mirror = args.mirrorPercent ?? 0;
    if (!(Number.isFinite(mirror) && mirror >= 0 && mirror <= 100)) {
        p.push(`mirrorPercent must be a number from 0 to 100; got ${mirror}`);
    }
    if (args.hosts === undefined || args.hosts.length === 0) {
        p.push('hosts must list at least one host name, such as ["app.example.com"]');
    }
    for (const host of args.hosts ?? []) {
        if (!/^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/.test(host)) {
            p.push(`hosts must hold DNS names such as "app.example.com" or "*.example.com"; got "${host}"`);
        }
    }
    if (args.canaryHeader !== undefined && !HEADER_NAME.test(args.canaryHeader.name)) {
        p.push(`canaryHeader must be an HTTP header name such as "x-canary"; got "${args.canaryHeader.name}"`);
    }
    if (args.canaryCookie !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(args.canaryCookie.name)) {
        p.push(
            `canaryCookie must be name=value with a cookie name such as "version=v2"; got "${args.canaryCookie.name}=${args.canaryCookie.value}"`,
        );
    }
    for (const [field, value] of [
        ["timeout", args.timeout],
        ["perTryTimeout", args.retries?.perTryTimeout],
    ] as const) {
        if (value !== undefined && !DURATION.test(value)) {
            p.push(`${field} must be a duration such as "250ms", "5s" or "1m"; got "${value}"`);
        }
    }
    if (args.retries !== undefined) {
        p.push(intProblem("retryAttempts", args.retries.attempts, 0, 100));
        if (args.retries.retryOn !== undefined) {
            p.push(...retryOnProblems("retryOn", args.retries.retryOn));
        }
    }
    if (args.canary === undefined && (args.canaryWeight ?? 0) > 0) {
        p.push(
            `canaryWeight must be 0 while no canary is set (set canaryImage and canaryVersion first); got ${args.canaryWeight}`,
        );
    }
    if ((args.canaryReplicas ?? 1) === 0 && canaryRoutable(args)) {
        p.push(
            "canaryReplicas must be at least 1 while traffic can reach the canary (canaryWeight above 0, canaryHeader, canaryCookie or mirrorPercent); got 0",
        );
    }
    return p.filter((x): x is string => x !== undefined);
}

/**
 * One application released in two tracks behind Istio: a namespace with sidecar injection, the gateway's TLS
 * secret, stable and canary Deployments, a Service over both, and the DestinationRule, Gateway and VirtualService
 * that split traffic by {@link CanaryReleaseArgs.canaryWeight}.
 *
 * Changing only the weight changes only the VirtualService (and the canary's replicas when scaling with the
 * weight). The VirtualService waits for both Deployments, so traffic only moves onto pods that are ready.
 */
export class CanaryRelease extends pulumi.ComponentResource {
    /** Namespace of the application. */
    public readonly namespace: string;
    /** Current split of the default route. */
    public readonly weights: Weights;
    /** Replicas of the canary Deployment. */
    public readonly canaryReplicas: number;
    /** https URL of the first host. */
    public readonly url: string;
    /** PromQL showing requests per second per version. */
    public readonly splitQuery: string;
    /** The stable and canary Deployments. */
    public readonly deployments: Record<Track, k8s.apps.v1.Deployment>;
    /** The VirtualService whose weights a shift changes. */
    public readonly virtualService: k8s.apiextensions.CustomResource;

    constructor(name: string, args: CanaryReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = validateCanaryReleaseArgs(args);
        if (problems.length > 0) {
            throw new Error(describeProblems(problems));
        }
        super("istio-canary:index:CanaryRelease", name, {}, opts);

        const app = args.app;
        const ns = args.namespace ?? app;
        const canaryWeight = args.canaryWeight ?? 0;
        const replicas = args.replicas ?? 2;
        const containerPort = args.containerPort ?? 8080;
        const servicePort = args.servicePort ?? 80;
        const protocol = args.protocol ?? "http";
        const host = `${app}.${ns}.svc.cluster.local`;
        this.namespace = ns;
        this.weights = splitWeights(canaryWeight);
        this.canaryReplicas = canaryReplicaCount({
            stableReplicas: replicas,
            canaryReplicas: args.canaryReplicas ?? 1,
            scaleWithWeight: args.canaryScaling ?? false,
            canaryWeight,
        });
        this.url = `https://${args.hosts[0].replace(/^\*\./, "www.")}/`;
        this.splitQuery = splitByVersionQuery({ namespace: ns, service: app });

        const namespaceDeps: pulumi.Resource[] = [];
        if (args.createNamespace ?? true) {
            const enforce = args.podSecurityEnforce ?? "privileged";
            namespaceDeps.push(
                new k8s.core.v1.Namespace(
                    `${name}-ns`,
                    {
                        metadata: {
                            name: ns,
                            labels: {
                                ...(args.istioRevision !== undefined
                                    ? { "istio.io/rev": args.istioRevision }
                                    : { "istio-injection": "enabled" }),
                                "pod-security.kubernetes.io/enforce": enforce,
                                "pod-security.kubernetes.io/warn": "restricted",
                                "pod-security.kubernetes.io/audit": "restricted",
                            },
                        },
                    },
                    { parent: this },
                ),
            );
        }
        const inNs = { parent: this, dependsOn: namespaceDeps };

        let credentialName: string;
        if ("secretName" in args.tls) {
            credentialName = args.tls.secretName;
        } else {
            credentialName = `${app}-tls`;
            new k8s.core.v1.Secret(
                `${name}-tls`,
                {
                    metadata: { name: credentialName, namespace: args.gateway.namespace, labels: { app } },
                    type: "kubernetes.io/tls",
                    stringData: {
                        "tls.crt": args.tls.cert,
                        "tls.key": pulumi.secret(args.tls.key),
                    },
                },
                { parent: this },
            );
        }

        const tracks: Record<Track, TrackArgs> = { stable: args.stable, canary: args.canary ?? args.stable };
        const replicaCount: Record<Track, number> = { stable: replicas, canary: this.canaryReplicas };
        const resources = args.resources ?? {};
        const probe = {
            httpGet: { path: args.probePath ?? "/", port: containerPort },
            periodSeconds: 5,
        };
        const deployment = (track: Track) =>
            new k8s.apps.v1.Deployment(
                `${name}-${track}`,
                {
                    metadata: {
                        name: `${app}-${track}`,
                        namespace: ns,
                        labels: podLabels(app, track, tracks[track].version),
                        annotations: { "pulumi.com/timeoutSeconds": String(args.rolloutTimeoutSeconds ?? 600) },
                    },
                    spec: {
                        replicas: replicaCount[track],
                        selector: { matchLabels: selectorLabels(app, track) },
                        // Surge, never unavailable: a track keeps its capacity while it rolls to a new version.
                        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
                        template: {
                            metadata: { labels: podLabels(app, track, tracks[track].version) },
                            spec: {
                                securityContext: restrictedPodSecurityContext(args.runAsUser ?? 65532),
                                containers: [
                                    {
                                        name: app,
                                        image: tracks[track].image,
                                        ports: containerPorts({ [protocol]: containerPort }),
                                        env: envVars({ ...(args.env ?? {}), RELEASE_TRACK: track }),
                                        readinessProbe: probe,
                                        livenessProbe: { ...probe, initialDelaySeconds: 10 },
                                        resources: {
                                            requests: {
                                                cpu: resources.cpuRequest ?? "100m",
                                                memory: resources.memoryRequest ?? "128Mi",
                                            },
                                            limits: {
                                                cpu: resources.cpuLimit ?? "500m",
                                                memory: resources.memoryLimit ?? "256Mi",
                                            },
                                        },
                                        securityContext: restrictedContainerSecurityContext(),
                                    },
                                ],
                            },
                        },
                    },
                },
                inNs,
            );
        this.deployments = { stable: deployment("stable"), canary: deployment("canary") };

        new k8s.core.v1.Service(
            `${name}-svc`,
            {
                metadata: { name: app, namespace: ns, labels: { app } },
                spec: {
                    selector: { app },
                    ports: [{ name: protocol, appProtocol: protocol, port: servicePort, targetPort: protocol }],
                },
            },
            inNs,
        );

        const istioResource = (
            role: string,
            kind: string,
            resourceName: string,
            spec: pulumi.Input<object>,
            dependsOn: pulumi.Resource[] = [],
        ) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${role}`,
                {
                    apiVersion: ISTIO_NETWORKING_API_VERSION,
                    kind,
                    metadata: { name: resourceName, namespace: ns, labels: { app } },
                    spec,
                },
                { ...inNs, dependsOn: [...namespaceDeps, ...dependsOn] },
            );

        const destinationRule = istioResource(
            "dr",
            "DestinationRule",
            app,
            buildDestinationRuleSpec({
                host,
                app,
                connectionPool: args.connectionPool,
                outlierDetection: args.outlierDetection,
            }),
        );
        const gateway = istioResource(
            "gw",
            "Gateway",
            app,
            buildGatewaySpec({
                selector: args.gateway.selector,
                hosts: args.hosts,
                credentialName,
                minTlsVersion: args.tlsMinVersion ?? "TLSV1_2",
                httpsRedirect: args.httpsRedirect ?? true,
            }),
        );
        // The route moves only after both Deployments are ready (Pulumi awaits their rollout) and the subsets exist.
        this.virtualService = istioResource(
            "vs",
            "VirtualService",
            app,
            buildVirtualServiceSpec({
                host,
                port: servicePort,
                hosts: args.hosts,
                gateway: `${ns}/${app}`,
                canaryWeight,
                header: args.canaryHeader,
                cookie: args.canaryCookie,
                mirrorPercent: args.mirrorPercent,
                timeout: args.timeout,
                retries: args.retries,
            }),
            [this.deployments.stable, this.deployments.canary, destinationRule, gateway],
        );

        this.registerOutputs({
            namespace: this.namespace,
            url: this.url,
            weights: this.weights,
            canaryReplicas: this.canaryReplicas,
            splitQuery: this.splitQuery,
        });
    }
}

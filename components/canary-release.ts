import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    CANARY_RELEASE_DEFAULTS,
    CanaryReleaseArgs,
    TrackArgs,
    validateCanaryReleaseArgs,
} from "./canary-release-args";
import { ISTIO_NETWORKING_API_VERSION } from "./istio-types";
import { appNamespace, appUrl, deploymentName, gatewayRef, serviceHost, tlsSecretName, Track } from "./names";
import { containerPorts, envVars, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./pod";
import { splitByVersionQuery } from "./promql";
import {
    buildDestinationRuleSpec,
    buildGatewaySpec,
    buildVirtualServiceSpec,
    canaryReplicaCount,
    podLabels,
    selectorLabels,
    splitWeights,
    Weights,
} from "./routing";
import { describeProblems } from "./validation";

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

        const D = CANARY_RELEASE_DEFAULTS;
        const app = args.app;
        const ns = appNamespace(app, args.namespace);
        const canaryWeight = args.canaryWeight ?? D.canaryWeight;
        const replicas = args.replicas ?? D.replicas;
        const containerPort = args.containerPort ?? D.containerPort;
        const servicePort = args.servicePort ?? D.servicePort;
        const protocol = args.protocol ?? D.protocol;
        const host = serviceHost(app, ns);
        this.namespace = ns;
        this.weights = splitWeights(canaryWeight);
        this.canaryReplicas = canaryReplicaCount({
            stableReplicas: replicas,
            canaryReplicas: args.canaryReplicas ?? D.canaryReplicas,
            scaleWithWeight: args.canaryScaling ?? D.canaryScaling,
            canaryWeight,
        });
        this.url = appUrl(args.hosts);
        this.splitQuery = splitByVersionQuery({ namespace: ns, service: app });

        const namespaceDeps: pulumi.Resource[] = [];
        if (args.createNamespace ?? D.createNamespace) {
            const enforce = args.podSecurityEnforce ?? D.podSecurityEnforce;
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
            credentialName = tlsSecretName(app);
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
        const r = args.resources ?? {};
        const resources = {
            requests: {
                cpu: r.cpuRequest ?? D.resources.cpuRequest,
                memory: r.memoryRequest ?? D.resources.memoryRequest,
            },
            limits: { cpu: r.cpuLimit ?? D.resources.cpuLimit, memory: r.memoryLimit ?? D.resources.memoryLimit },
        };
        const probe = {
            httpGet: { path: args.probePath ?? D.probePath, port: containerPort },
            periodSeconds: 5,
        };
        const deployment = (track: Track) =>
            new k8s.apps.v1.Deployment(
                `${name}-${track}`,
                {
                    metadata: {
                        name: deploymentName(app, track),
                        namespace: ns,
                        labels: podLabels(app, track, tracks[track].version),
                        annotations: {
                            "pulumi.com/timeoutSeconds": String(args.rolloutTimeoutSeconds ?? D.rolloutTimeoutSeconds),
                        },
                    },
                    spec: {
                        replicas: replicaCount[track],
                        selector: { matchLabels: selectorLabels(app, track) },
                        // Surge, never unavailable: a track keeps its capacity while it rolls to a new version.
                        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
                        template: {
                            metadata: { labels: podLabels(app, track, tracks[track].version) },
                            spec: {
                                securityContext: restrictedPodSecurityContext(args.runAsUser ?? D.runAsUser),
                                containers: [
                                    {
                                        name: app,
                                        image: tracks[track].image,
                                        ports: containerPorts({ [protocol]: containerPort }),
                                        env: envVars({ ...(args.env ?? {}), RELEASE_TRACK: track }),
                                        readinessProbe: probe,
                                        livenessProbe: { ...probe, initialDelaySeconds: 10 },
                                        resources,
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
                minTlsVersion: args.tlsMinVersion ?? D.tlsMinVersion,
                httpsRedirect: args.httpsRedirect ?? D.httpsRedirect,
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
                gateway: gatewayRef(ns, app),
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

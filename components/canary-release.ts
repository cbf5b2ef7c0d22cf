import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CANARY_RELEASE_DEFAULTS, CanaryReleaseArgs, gatewayAccountOf } from "./canary-release-args";
import { checkedInputs, validateCanaryReleaseArgs } from "./canary-release-rules";
import {
    appNamespace,
    appUrl,
    deploymentName,
    serviceAccountName,
    serviceHost,
    servicePorts,
    tlsSecretName,
    Track,
    TRACKS,
} from "./names";
import { canaryMinReplicas, HPA_OWNED_PATHS } from "./autoscaling";
import { registerAutoscalers } from "./autoscalers";
import { buildPodDisruptionBudgetSpec } from "./disruption";
import {
    buildAuthorizationPolicySpec,
    buildPeerAuthenticationSpec,
    ISTIO_SECURITY_API_VERSION,
    principal,
} from "./mesh-security";
import {
    containerPorts,
    containerResources,
    envVars,
    restrictedContainerSecurityContext,
    restrictedPodSecurityContext,
    tmpVolume,
} from "./pod";
import { appNamespaceLabels } from "./pod-security";
import { splitByVersionQuery } from "./promql";
import { canaryReplicaCount, podLabels, selectorLabels, splitWeights, Weights } from "./routing";
import { namespacedResource, registerRoutes, RoutesOf } from "./routes";
import { describeProblems } from "./validation";
import { definedOnly } from "./values";

/**
 * One application released in two tracks behind Istio: a namespace with sidecar injection, the gateway's TLS
 * secret, stable and canary Deployments, a Service over both, and the DestinationRule, Gateway and VirtualService
 * that split traffic by the canary weight (with `routingApi: "gateway-api"`: a Service per track, a Gateway API
 * Gateway and HTTPRoutes instead; components/routes.ts).
 *
 * Changing only the weight changes only the VirtualService (and the canary's replicas when scaling with the
 * weight, or its HorizontalPodAutoscaler's bounds with `autoscaling`). The VirtualService waits for both
 * Deployments, so traffic only moves onto pods that are ready.
 */
export class CanaryRelease extends pulumi.ComponentResource {
    /** Namespace of the application. */
    public readonly namespace: pulumi.Output<string>;
    /** Current split of the default route. */
    public readonly weights: pulumi.Output<Weights>;
    /** Replicas of the canary Deployment. */
    public readonly canaryReplicas: pulumi.Output<number>;
    /** https URL of the first host. */
    public readonly url: pulumi.Output<string>;
    /** PromQL showing requests per second per version. */
    public readonly splitQuery: pulumi.Output<string>;
    /**
     * URNs of the routes whose weights a shift changes, the targets of a routing-only update: the VirtualService, or
     * with the Gateway API the route of external traffic and the one of in-mesh callers (they move together).
     */
    public readonly routeUrns: pulumi.Output<string[]>;
    /** URNs of everything that decides where requests go (the routes and their DestinationRules): drift checks. */
    public readonly routingUrns: pulumi.Output<string[]>;
    /** URN of the first route a shift changes (the VirtualService in the `istio` mode). */
    public readonly routingUrn: pulumi.Output<string>;

    constructor(name: string, args: CanaryReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = validateCanaryReleaseArgs(args);
        if (problems.length > 0) {
            throw new Error(describeProblems(problems));
        }
        super("istio-canary:index:CanaryRelease", name, {}, opts);

        const D = CANARY_RELEASE_DEFAULTS;
        // Inputs that are Outputs are checked when they resolve, by the same rules, before a resource uses them.
        // One group per use, so a value computed in this update (an image) does not hold back the routes.
        const fail = (message: string) => new pulumi.ResourceError(message, this, true);
        const stableIn = checkedInputs(args, ["stable"], fail);
        const canaryIn = checkedInputs(args, ["canary"], fail);
        const replicasIn = checkedInputs(args, ["replicas"], fail).apply((r) => r.replicas ?? D.replicas);
        const weightIn = checkedInputs(args, ["canaryWeight", "canaryReplicas"], fail);
        const hosts = checkedInputs(args, ["hosts"], fail).apply((h) => h.hosts);

        const app = args.app;
        const ns = appNamespace(app, args.namespace);
        const containerPort = args.containerPort ?? D.containerPort;
        const servicePort = args.servicePort ?? D.servicePort;
        const protocol = args.protocol ?? D.protocol;
        const host = serviceHost(app, ns);
        const canaryWeight = weightIn.apply((w) => w.canaryWeight ?? D.canaryWeight);
        // Only session affinity makes the routes wait for the canary's inputs (its version is the cookie's value).
        const canaryVersion =
            args.sessionAffinity === undefined ? pulumi.output("") : canaryIn.apply((t) => t.canary?.version ?? "");
        this.namespace = pulumi.output(ns);
        this.weights = canaryWeight.apply(splitWeights);
        const autoscaling = args.autoscaling;
        // With autoscaling, the canary track exists only while it can be routed to: a release in progress (a weight
        // above 0 needs one), or a header, cookie or mirror route. Otherwise it has no Deployment and no HPA.
        const canaryRuns =
            autoscaling === undefined ||
            args.canary !== undefined ||
            args.canaryHeader !== undefined ||
            args.canaryCookie !== undefined ||
            (args.mirrorPercent ?? D.mirrorPercent) > 0;
        this.canaryReplicas = pulumi.all([replicasIn, weightIn]).apply(([replicas, w]) => {
            if (autoscaling !== undefined) {
                return canaryRuns ? canaryMinReplicas(w.canaryWeight ?? D.canaryWeight, replicas) : 0;
            }
            return canaryReplicaCount({
                stableReplicas: replicas,
                canaryReplicas: w.canaryReplicas ?? D.canaryReplicas,
                scaleWithWeight: args.canaryScaling ?? D.canaryScaling,
                canaryWeight: w.canaryWeight ?? D.canaryWeight,
            });
        });
        this.url = hosts.apply(appUrl);
        this.splitQuery = pulumi.output(splitByVersionQuery({ namespace: ns, service: app }));

        const namespaceDeps: pulumi.Resource[] = [];
        if (args.createNamespace ?? D.createNamespace) {
            const enforce = args.podSecurityEnforce ?? D.podSecurityEnforce;
            namespaceDeps.push(
                new k8s.core.v1.Namespace(
                    `${name}-ns`,
                    {
                        metadata: { name: ns, labels: appNamespaceLabels(enforce, args.istioRevision) },
                    },
                    { parent: this },
                ),
            );
        }
        const inNs = { parent: this, dependsOn: namespaceDeps };

        let credentialName: pulumi.Input<string>;
        if (args.tls.secretName !== undefined) {
            credentialName = args.tls.secretName;
        } else {
            credentialName = tlsSecretName(app, ns);
            new k8s.core.v1.Secret(
                `${name}-tls`,
                {
                    metadata: { name: credentialName, namespace: args.gateway.namespace, labels: { app } },
                    type: "kubernetes.io/tls",
                    stringData: {
                        "tls.crt": args.tls.cert ?? "",
                        "tls.key": pulumi.secret(args.tls.key ?? ""),
                    },
                },
                { parent: this },
            );
        }

        const tracks = {
            stable: stableIn.apply((t) => t.stable),
            canary: args.canary !== undefined ? canaryIn.apply((t) => t.canary!) : stableIn.apply((t) => t.stable),
        };
        const replicaCount: Record<Track, pulumi.Output<number>> = { stable: replicasIn, canary: this.canaryReplicas };
        const r = { ...D.resources, ...definedOnly(args.resources ?? {}) };
        const storage = args.ephemeralStorage ?? D.ephemeralStorage;
        const resources = containerResources({
            ...r,
            ephemeralStorageRequest: storage ? r.ephemeralStorageRequest : undefined,
            ephemeralStorageLimit: storage ? r.ephemeralStorageLimit : undefined,
        });
        const tmp = tmpVolume(args.tmpVolume ?? D.tmpVolume);
        // The pods' own identity, without an API token (Istio's proxy has a projected token of its own).
        const podIdentity: pulumi.Resource[] = [];
        if (args.serviceAccount ?? D.serviceAccount) {
            podIdentity.push(
                new k8s.core.v1.ServiceAccount(
                    `${name}-sa`,
                    {
                        metadata: { name: serviceAccountName(app), namespace: ns, labels: { app } },
                        automountServiceAccountToken: false,
                    },
                    inNs,
                ),
            );
        }
        const identity =
            podIdentity.length > 0
                ? { serviceAccountName: serviceAccountName(app), automountServiceAccountToken: false }
                : {};
        const probe = {
            httpGet: { path: args.probePath ?? D.probePath, port: containerPort },
            periodSeconds: 5,
        };
        const env = pulumi.output(args.env ?? {});
        const deployment = (track: Track) => {
            const labels = tracks[track].apply((t) => podLabels(app, track, t.version));
            return new k8s.apps.v1.Deployment(
                `${name}-${track}`,
                {
                    metadata: {
                        name: deploymentName(app, track),
                        namespace: ns,
                        labels,
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
                            metadata: { labels },
                            spec: {
                                ...identity,
                                securityContext: restrictedPodSecurityContext(args.runAsUser ?? D.runAsUser),
                                ...(tmp.volumes.length > 0 ? { volumes: tmp.volumes } : {}),
                                containers: [
                                    {
                                        name: app,
                                        image: tracks[track].apply((t) => t.image),
                                        ports: containerPorts({ [protocol]: containerPort }),
                                        env: env.apply((e) => envVars({ ...e, RELEASE_TRACK: track })),
                                        readinessProbe: probe,
                                        livenessProbe: { ...probe, initialDelaySeconds: 10 },
                                        resources,
                                        securityContext: restrictedContainerSecurityContext(),
                                        ...(tmp.volumeMounts.length > 0 ? { volumeMounts: tmp.volumeMounts } : {}),
                                    },
                                ],
                            },
                        },
                    },
                },
                // An HPA owns the replica count: Pulumi sets it only when it creates the Deployment.
                {
                    ...inNs,
                    dependsOn: [...namespaceDeps, ...podIdentity],
                    ...(autoscaling !== undefined ? { ignoreChanges: HPA_OWNED_PATHS } : {}),
                },
            );
        };
        const deployments: Record<Track, k8s.apps.v1.Deployment | undefined> = {
            stable: deployment("stable"),
            canary: canaryRuns ? deployment("canary") : undefined,
        };
        if (autoscaling !== undefined) {
            registerAutoscalers(name, { app, ns, autoscaling, deployments, replicas: replicasIn, canaryWeight }, inNs);
        }
        if (args.podDisruptionBudgets ?? D.podDisruptionBudgets) {
            for (const track of TRACKS) {
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${track}-pdb`,
                    {
                        metadata: { name: deploymentName(app, track), namespace: ns, labels: { app } },
                        spec: buildPodDisruptionBudgetSpec(app, track),
                    },
                    inNs,
                );
            }
        }

        new k8s.core.v1.Service(
            `${name}-svc`,
            {
                metadata: { name: app, namespace: ns, labels: { app } },
                spec: {
                    selector: { app },
                    ports: servicePorts(protocol, servicePort),
                },
            },
            inNs,
        );

        const routes: RoutesOf = {
            name,
            args,
            ns,
            host,
            protocol,
            servicePort,
            hosts,
            canaryWeight,
            canaryVersion,
            credentialName,
            deployments,
            namespaceDeps,
        };
        const routing = registerRoutes(routes, this);
        const urns = (rs: pulumi.Resource[]) => pulumi.all(rs.map((r) => r.urn));
        this.routeUrns = urns(routing.routes);
        this.routingUrns = urns([...routing.routes, ...routing.rules]);
        this.routingUrn = routing.routes[0].urn;

        if (args.peerAuthentication ?? D.peerAuthentication) {
            namespacedResource(
                routes,
                this,
                "peer-auth",
                "PeerAuthentication",
                app,
                buildPeerAuthenticationSpec(app),
                [],
                ISTIO_SECURITY_API_VERSION,
            );
        }
        if (args.authorizationPolicy ?? D.authorizationPolicy) {
            const gatewayPrincipal = gatewayAccountOf(args.gateway).apply(({ namespace, account }) =>
                principal(namespace, account),
            );
            namespacedResource(
                routes,
                this,
                "authz",
                "AuthorizationPolicy",
                app,
                gatewayPrincipal.apply((gw) =>
                    buildAuthorizationPolicySpec(app, [gw, ...(args.allowedPrincipals ?? [])]),
                ),
                [],
                ISTIO_SECURITY_API_VERSION,
            );
        }

        this.registerOutputs({
            namespace: this.namespace,
            url: this.url,
            weights: this.weights,
            canaryReplicas: this.canaryReplicas,
            splitQuery: this.splitQuery,
            routingUrn: this.routingUrn,
            routeUrns: this.routeUrns,
            routingUrns: this.routingUrns,
        });
    }
}

/**
 * The routing resources of CanaryRelease, in either routing mode (the specs are built in routing.ts and
 * gateway-api.ts, pure): `istio` (DestinationRule, Istio Gateway, VirtualService) or `gateway-api` (a Service per
 * track, a Gateway API Gateway and HTTPRoutes). The routes wait for both Deployments, so traffic only moves onto
 * pods that are ready.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    CANARY_RELEASE_DEFAULTS as D,
    CanaryReleaseArgs,
    gatewayAccountOf,
    RoutingApi,
    sessionAffinityOf,
} from "./canary-release-args";
import {
    buildGatewayApiGatewaySpec,
    buildGatewayHTTPRouteSpec,
    buildMeshHTTPRouteSpec,
    buildRedirectHTTPRouteSpec,
    buildTrackDestinationRuleSpec,
    GATEWAY_API_VERSION,
    gatewayApiGatewayName,
    meshRouteName,
    routeKind,
    trackServiceName,
} from "./gateway-api";
import { ISTIO_NETWORKING_API_VERSION } from "./istio-types";
import { gatewayRef, serviceHost, servicePorts, Track, TRACKS } from "./names";
import {
    buildDestinationRuleSpec,
    buildGatewaySpec,
    buildVirtualServiceSpec,
    exportNamespaces,
    selectorLabels,
} from "./routing";

/** What the routes of one release are made from. */
export interface RoutesOf {
    /** The component's name: children are named `${name}-<role>`. */
    name: string;
    args: CanaryReleaseArgs;
    ns: string;
    /** Fully qualified host of the Service over both tracks. */
    host: string;
    protocol: string;
    servicePort: number;
    hosts: pulumi.Output<string[]>;
    canaryWeight: pulumi.Output<number>;
    /** The canary's version ("" when none), the session affinity cookie's value. */
    canaryVersion: pulumi.Output<string>;
    /** The TLS Secret in the gateway's namespace. */
    credentialName: pulumi.Input<string>;
    deployments: Record<Track, k8s.apps.v1.Deployment | undefined>;
    /** What every namespaced resource waits for (the app's namespace, when the component creates it). */
    namespaceDeps: pulumi.Resource[];
}

/**
 * A custom resource of the release in its namespace, `${name}-${role}`, labelled with the app; waits for the
 * namespace and `dependsOn`.
 */
export function namespacedResource(
    r: RoutesOf,
    parent: pulumi.Resource,
    role: string,
    kind: string,
    resourceName: string,
    spec: pulumi.Input<object>,
    dependsOn: pulumi.Resource[] = [],
    apiVersion: string = ISTIO_NETWORKING_API_VERSION,
): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(
        `${r.name}-${role}`,
        { apiVersion, kind, metadata: { name: resourceName, namespace: r.ns, labels: { app: r.args.app } }, spec },
        { parent, dependsOn: [...r.namespaceDeps, ...dependsOn] },
    );
}

/** The routing objects of a release. */
export interface RoutingObjects {
    /** The routes a shift changes (the VirtualService; with the Gateway API the external and the mesh route). */
    routes: pulumi.Resource[];
    /** The DestinationRules the routes' traffic goes through. */
    rules: pulumi.Resource[];
}

/** Registers the routes of the release's routing mode. */
export function registerRoutes(r: RoutesOf, parent: pulumi.Resource): RoutingObjects {
    return (r.args.routingApi ?? D.routingApi) === RoutingApi.GatewayApi
        ? gatewayApiRoutes(r, parent)
        : istioRoutes(r, parent);
}

/** The `istio` mode: DestinationRule, Istio Gateway and VirtualService. */
function istioRoutes(r: RoutesOf, parent: pulumi.Resource): RoutingObjects {
    const { args, ns, host, servicePort, hosts, canaryWeight, canaryVersion, credentialName, deployments } = r;
    const app = args.app;
    const resource = (
        role: string,
        kind: string,
        resourceName: string,
        spec: pulumi.Input<object>,
        dependsOn: pulumi.Resource[] = [],
    ) => namespacedResource(r, parent, role, kind, resourceName, spec, dependsOn);
    // Visible to the app's namespace and the gateway's only (and any the args add), not to every namespace.
    const exportTo = pulumi.output(args.gateway.namespace).apply((gw) => exportNamespaces(ns, gw, args.exportTo));
    const destinationRule = resource(
        "dr",
        "DestinationRule",
        app,
        exportTo.apply((e) =>
            buildDestinationRuleSpec({
                host,
                app,
                connectionPool: args.connectionPool,
                outlierDetection: args.outlierDetection,
                exportTo: e,
            }),
        ),
    );
    const gateway = resource(
        "gw",
        "Gateway",
        app,
        pulumi.all([args.gateway.selector, hosts, credentialName]).apply(([selector, h, credential]) =>
            buildGatewaySpec({
                selector,
                hosts: h,
                credentialName: credential,
                minTlsVersion: args.tlsMinVersion ?? D.tlsMinVersion,
                httpsRedirect: args.httpsRedirect ?? D.httpsRedirect,
            }),
        ),
    );
    // The route moves only after both Deployments are ready (Pulumi awaits their rollout) and the subsets exist.
    const virtualService = resource(
        "vs",
        "VirtualService",
        app,
        pulumi.all([hosts, canaryWeight, exportTo, canaryVersion]).apply(([h, weight, e, version]) =>
            buildVirtualServiceSpec({
                host,
                exportTo: e,
                port: servicePort,
                hosts: h,
                gateway: gatewayRef(ns, app),
                canaryWeight: weight,
                header: args.canaryHeader,
                cookie: args.canaryCookie,
                sessionAffinity: sessionAffinityOf(args.sessionAffinity, version),
                mirrorPercent: args.mirrorPercent,
                timeout: args.timeout,
                retries: args.retries,
            }),
        ),
        [...TRACKS.flatMap((t) => deployments[t] ?? []), destinationRule, gateway],
    );
    return { routes: [virtualService], rules: [destinationRule] };
}

/**
 * The `gateway-api` mode: a Service per track (the Gateway API routes to Services, not subsets) with a
 * DestinationRule for Istio's mutual TLS, the Gateway (in
 * the gateway's namespace, bound to the ingress gateway the mesh runs), the route of external traffic, the route of
 * in-mesh callers (its parent the app's Service), both GRPCRoutes for a gRPC app and HTTPRoutes otherwise, and the
 * HTTP redirect (an HTTPRoute).
 */
function gatewayApiRoutes(r: RoutesOf, parent: pulumi.Resource): RoutingObjects {
    const { name, args, ns, protocol, servicePort, hosts, canaryWeight, canaryVersion, credentialName } = r;
    const { deployments, namespaceDeps } = r;
    const app = args.app;
    const inNs = (dependsOn: pulumi.Resource[] = []) => ({
        parent,
        dependsOn: [...namespaceDeps, ...dependsOn],
    });
    const trackServices = TRACKS.map(
        (track) =>
            new k8s.core.v1.Service(
                `${name}-svc-${track}`,
                {
                    metadata: { name: trackServiceName(app, track), namespace: ns, labels: { app } },
                    spec: {
                        selector: selectorLabels(app, track),
                        ports: servicePorts(protocol, servicePort),
                    },
                },
                inNs(),
            ),
    );
    // Mutual TLS to each track's Service (and its pool and outlier limits): proxyless gRPC callers need it asked.
    const trackRules = TRACKS.map((track) =>
        namespacedResource(
            r,
            parent,
            `dr-${track}`,
            "DestinationRule",
            trackServiceName(app, track),
            buildTrackDestinationRuleSpec({
                host: serviceHost(trackServiceName(app, track), ns),
                connectionPool: args.connectionPool,
                outlierDetection: args.outlierDetection,
            }),
        ),
    );
    const gatewayName = gatewayApiGatewayName(app, ns);
    const gatewayService = gatewayAccountOf(args.gateway).apply(({ namespace, account }) =>
        serviceHost(account, namespace),
    );
    const httpsRedirect = args.httpsRedirect ?? D.httpsRedirect;
    const gateway = new k8s.apiextensions.CustomResource(
        `${name}-gateway`,
        {
            apiVersion: GATEWAY_API_VERSION,
            kind: "Gateway",
            metadata: { name: gatewayName, namespace: args.gateway.namespace, labels: { app } },
            spec: pulumi.all([hosts, credentialName, gatewayService]).apply(([hosts, credentialName, service]) =>
                buildGatewayApiGatewaySpec({
                    hosts,
                    credentialName,
                    gatewayService: service,
                    appNamespace: ns,
                    httpsRedirect,
                }),
            ),
        },
        { parent },
    );
    const rules = (canaryWeight: number, version: string) => ({
        app,
        port: servicePort,
        canaryWeight,
        header: args.canaryHeader,
        cookie: args.canaryCookie,
        sessionAffinity: sessionAffinityOf(args.sessionAffinity, version),
        mirrorPercent: args.mirrorPercent,
        timeout: args.timeout,
    });
    // The routes to the tracks move only once both Deployments are ready and their Services and rules exist.
    const toTracks = [...TRACKS.flatMap((t) => deployments[t] ?? []), ...trackServices, ...trackRules, gateway];
    // The shifted routes are applied forced: after the bot's fast rollback its field manager shares their rules (an
    // atomic list), and the API server compares an apply with the stored rules before it adds its defaults (a
    // backendRef's group and kind), so the update that records the rollback would otherwise always conflict.
    const forced = { "pulumi.com/patchForce": "true" };
    const route = (
        role: string,
        routeName: string,
        spec: pulumi.Input<object>,
        kind = routeKind(protocol),
        dependsOn = toTracks,
        force = true,
    ) =>
        new k8s.apiextensions.CustomResource(
            `${name}-${role}`,
            {
                apiVersion: GATEWAY_API_VERSION,
                kind,
                metadata: {
                    name: routeName,
                    namespace: ns,
                    labels: { app },
                    ...(force ? { annotations: forced } : {}),
                },
                spec,
            },
            inNs(dependsOn),
        );
    const external = route(
        "route",
        app,
        pulumi
            .all([hosts, canaryWeight, canaryVersion, args.gateway.namespace])
            .apply(([hosts, weight, version, gatewayNamespace]) =>
                buildGatewayHTTPRouteSpec({ ...rules(weight, version), hosts, gatewayName, gatewayNamespace }),
            ),
    );
    const meshRoute = route(
        "mesh-route",
        meshRouteName(app),
        pulumi
            .all([canaryWeight, canaryVersion])
            .apply(([weight, version]) => buildMeshHTTPRouteSpec(rules(weight, version))),
    );
    if (httpsRedirect) {
        route(
            "redirect-route",
            `${app}-redirect`,
            pulumi
                .all([hosts, args.gateway.namespace])
                .apply(([hosts, gatewayNamespace]) =>
                    buildRedirectHTTPRouteSpec({ hosts, gatewayName, gatewayNamespace }),
                ),
            "HTTPRoute",
            [gateway], // a redirect reaches no track
            false, // nor does the bot patch it
        );
    }
    return { routes: [external, meshRoute], rules: trackRules };
}

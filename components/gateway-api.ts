/**
 * Pure routing logic of the `gateway-api` routing mode: the Kubernetes Gateway API objects (standard channel,
 * gateway.networking.k8s.io/v1) a canary release needs, computed from plain values. Istio reads them: the Gateway
 * through its gateway controller (class `istio`), the HTTPRoutes as routes of that gateway and, for the one whose
 * parent is the app's Service (GAMMA), of every in-mesh caller.
 *
 * The Gateway API has no subsets: each track has a Service of its own (`<app>-stable`, `<app>-canary`), and the
 * weighted rule's backendRefs name them. The rules mirror the `istio` mode's routes (components/routing.ts), in the
 * same order and under the same names.
 */
import { affinitySetCookie, cookieRegex, MAX_WEIGHT, ROUTE_NAMES, RouteOptions, splitWeights } from "./routing";
import { ConnectionPoolSettings, OutlierDetection, TrafficPolicy } from "./istio-types";
import { Track } from "./names";

/** apiVersion of every Gateway API object this mode makes. */
export const GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1";

/** The GatewayClass istiod serves (its default, PILOT_GATEWAY_API_DEFAULT_GATEWAYCLASS_NAME). */
export const ISTIO_GATEWAY_CLASS = "istio";

/** A Gateway API duration (GEP-2257), the only form HTTPRoute timeouts accept: e.g. "10s", "1m30s", "500ms". */
export const GATEWAY_API_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;

/**
 * The route kind for an app protocol: a GRPCRoute for gRPC apps, an HTTPRoute otherwise. Both carry the same rules
 * here (header matches, weighted backends, mirror and response header filters); only an HTTPRoute has timeouts.
 */
export function routeKind(protocol: string): "GRPCRoute" | "HTTPRoute" {
    return protocol === "grpc" ? "GRPCRoute" : "HTTPRoute";
}

/** The kinds of object whose routes a shift changes: Istio's VirtualService, or the Gateway API's routes. */
export type RouteKind = "VirtualService" | "HTTPRoute" | "GRPCRoute";

/** Name of the route of in-mesh callers (its parent the app's Service): `<app>-mesh`. */
export function meshRouteName(app: string): string {
    return `${app}-mesh`;
}

/**
 * The objects whose routes a shift changes, in the app's namespace: its VirtualService (`<app>`), or with the
 * Gateway API the route of external traffic (`<app>`) and the one of in-mesh callers (`<app>-mesh`), which move
 * together.
 */
export function shiftedRoutes(app: string, gatewayApi: boolean, protocol: string): { kind: RouteKind; name: string }[] {
    if (!gatewayApi) {
        return [{ kind: "VirtualService", name: app }];
    }
    const kind = routeKind(protocol);
    return [
        { kind, name: app },
        { kind, name: meshRouteName(app) },
    ];
}

/** A reference to a Service in the route's namespace, and the share of requests it gets. */
export interface BackendRef {
    name: string;
    port: number;
    weight: number;
    filters?: HTTPRouteFilter[];
}

/** A request header to match. */
export interface HTTPHeaderMatch {
    type: "Exact" | "RegularExpression";
    name: string;
    value: string;
}

/** The HTTPRoute filters this mode uses. */
export type HTTPRouteFilter =
    | { type: "RequestMirror"; requestMirror: { backendRef: { name: string; port: number }; percent: number } }
    | { type: "ResponseHeaderModifier"; responseHeaderModifier: { add: { name: string; value: string }[] } }
    | { type: "RequestRedirect"; requestRedirect: { scheme: "https"; statusCode: 301 } };

/** One HTTPRoute rule. */
export interface HTTPRouteRule {
    name: string;
    matches?: { headers: HTTPHeaderMatch[] }[];
    filters?: HTTPRouteFilter[];
    backendRefs?: BackendRef[];
    timeouts?: { request: string };
}

/** A route's parent: a Gateway listener, or a Service (GAMMA: the route applies to the Service's callers). */
export interface ParentRef {
    group: string;
    kind: "Gateway" | "Service";
    name: string;
    namespace?: string;
    sectionName?: string;
    port?: number;
}

/** The HTTPRoute (or GRPCRoute) spec. */
export interface HTTPRouteSpec {
    parentRefs: ParentRef[];
    hostnames?: string[];
    rules: HTTPRouteRule[];
}

/** One Gateway listener. */
export interface GatewayListener {
    name: string;
    hostname: string;
    port: number;
    protocol: "HTTP" | "HTTPS";
    tls?: { mode: "Terminate"; certificateRefs: { kind: "Secret"; name: string }[] };
    allowedRoutes: {
        namespaces: { from: "Selector"; selector: { matchLabels: Record<string, string> } };
    };
}

/** The Gateway spec. */
export interface GatewayApiGatewaySpec {
    gatewayClassName: string;
    addresses: { type: "Hostname"; value: string }[];
    listeners: GatewayListener[];
}

/** Name of a track's own Service (the Gateway API routes to Services, not subsets): `<app>-<track>`. */
export function trackServiceName(app: string, track: Track): string {
    return `${app}-${track}`;
}

/** The track a Service named by {@link trackServiceName} serves, or undefined for any other name. */
export function trackOfServiceName(name: string): Track | undefined {
    const track = /-(stable|canary)$/.exec(name)?.[1];
    return track === "stable" || track === "canary" ? track : undefined;
}

/**
 * Name of the app's Gateway, which lives in the gateway's namespace (next to the ingress gateway's Service, as istiod
 * requires of a Gateway bound to a gateway it did not deploy): `<namespace>-<app>`, unique across apps and stacks.
 */
export function gatewayApiGatewayName(app: string, namespace: string): string {
    return `${namespace}-${app}`;
}

/**
 * The DestinationRule of one track's Service: Istio's mutual TLS to it (the mesh's proxyless gRPC clients use it
 * only when a DestinationRule asks; sidecars would anyway), and the optional pool and outlier limits. No subsets:
 * the track is the Service.
 */
export function buildTrackDestinationRuleSpec(opts: {
    host: string;
    connectionPool?: ConnectionPoolSettings;
    outlierDetection?: OutlierDetection;
}): { host: string; trafficPolicy: TrafficPolicy } {
    return {
        host: opts.host,
        trafficPolicy: {
            tls: { mode: "ISTIO_MUTUAL" },
            ...(opts.connectionPool ? { connectionPool: opts.connectionPool } : {}),
            ...(opts.outlierDetection ? { outlierDetection: opts.outlierDetection } : {}),
        },
    };
}

/** Inputs of the HTTPRoute rules: the `istio` mode's route options, the app's name instead of a host. */
export type HTTPRouteRuleOptions = Omit<RouteOptions, "host" | "retries"> & {
    /** The app: its tracks' Services are `<app>-stable` and `<app>-canary`. */
    app: string;
};

/**
 * The HTTPRoute's ordered rules, as the `istio` mode's routes: header to canary, cookie to canary, the session
 * affinity cookie to canary (while the canary has weight; its Set-Cookie on the canary's backend), then the weighted
 * rule (stable and canary Services, weights always explicit, the mirror filter when mirroring). Every rule carries
 * the timeout.
 */
export function buildHTTPRouteRules(opts: HTTPRouteRuleOptions): HTTPRouteRule[] {
    const weights = splitWeights(opts.canaryWeight);
    const to = (track: Track, weight: number): BackendRef => ({
        name: trackServiceName(opts.app, track),
        port: opts.port,
        weight,
    });
    const timeouts = opts.timeout !== undefined ? { timeouts: { request: opts.timeout } } : {};
    const matchRule = (name: string, header: HTTPHeaderMatch): HTTPRouteRule => ({
        name,
        matches: [{ headers: [header] }],
        backendRefs: [to("canary", MAX_WEIGHT)],
        ...timeouts,
    });
    const rules: HTTPRouteRule[] = [];
    if (opts.header) {
        rules.push(matchRule(ROUTE_NAMES.header, { type: "Exact", name: opts.header.name, value: opts.header.value }));
    }
    if (opts.cookie) {
        rules.push(
            matchRule(ROUTE_NAMES.cookie, {
                type: "RegularExpression",
                name: "cookie",
                value: cookieRegex(opts.cookie),
            }),
        );
    }
    const affinity = weights.canary > 0 ? opts.sessionAffinity : undefined;
    if (affinity) {
        const cookie = { name: affinity.cookieName, value: affinity.value };
        rules.push(
            matchRule(ROUTE_NAMES.affinity, { type: "RegularExpression", name: "cookie", value: cookieRegex(cookie) }),
        );
    }
    const canary = to("canary", weights.canary);
    if (affinity) {
        canary.filters = [
            {
                type: "ResponseHeaderModifier",
                responseHeaderModifier: { add: [{ name: "set-cookie", value: affinitySetCookie(affinity) }] },
            },
        ];
    }
    const mirror = opts.mirrorPercent ?? 0;
    rules.push({
        name: ROUTE_NAMES.weighted,
        ...(mirror > 0
            ? {
                  filters: [
                      {
                          type: "RequestMirror",
                          requestMirror: {
                              backendRef: { name: trackServiceName(opts.app, "canary"), port: opts.port },
                              percent: mirror,
                          },
                      },
                  ],
              }
            : {}),
        backendRefs: [to("stable", weights.stable), canary],
        ...timeouts,
    });
    return rules;
}

/** References to the app's Gateway's listeners named `<prefix>-<i>`, one per host. */
function listenerRefs(
    opts: { hosts: string[]; gatewayName: string; gatewayNamespace: string },
    prefix: "https" | "http",
): ParentRef[] {
    return opts.hosts.map((_, i) => ({
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        namespace: opts.gatewayNamespace,
        name: opts.gatewayName,
        sectionName: `${prefix}-${i}`,
    }));
}

/** The HTTPRoute of external traffic: bound to the app's Gateway's HTTPS listeners, for the app's hosts. */
export function buildGatewayHTTPRouteSpec(
    opts: HTTPRouteRuleOptions & { hosts: string[]; gatewayName: string; gatewayNamespace: string },
): HTTPRouteSpec {
    return {
        parentRefs: listenerRefs(opts, "https"),
        hostnames: [...opts.hosts],
        rules: buildHTTPRouteRules(opts),
    };
}

/** The HTTPRoute of in-mesh callers (GAMMA): its parent is the app's Service over both tracks. */
export function buildMeshHTTPRouteSpec(opts: HTTPRouteRuleOptions): HTTPRouteSpec {
    return {
        parentRefs: [{ group: "", kind: "Service", name: opts.app, port: opts.port }],
        rules: buildHTTPRouteRules(opts),
    };
}

/** The HTTPRoute that redirects plain HTTP to HTTPS, bound to the Gateway's HTTP listeners. */
export function buildRedirectHTTPRouteSpec(opts: {
    hosts: string[];
    gatewayName: string;
    gatewayNamespace: string;
}): HTTPRouteSpec {
    return {
        parentRefs: listenerRefs(opts, "http"),
        hostnames: [...opts.hosts],
        rules: [
            {
                name: "https-redirect",
                filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }],
            },
        ],
    };
}

/**
 * The Gateway: bound to the ingress gateway the mesh already runs (its Service's host in `addresses`, so istiod
 * deploys nothing), one HTTPS listener per host terminating TLS with the secret and, when redirecting, one HTTP
 * listener per host; routes attach only from the app's namespace.
 */
export function buildGatewayApiGatewaySpec(opts: {
    hosts: string[];
    credentialName: string;
    /** Fully qualified host of the ingress gateway's Service. */
    gatewayService: string;
    appNamespace: string;
    httpsRedirect: boolean;
}): GatewayApiGatewaySpec {
    const allowedRoutes = {
        namespaces: {
            from: "Selector" as const,
            selector: { matchLabels: { "kubernetes.io/metadata.name": opts.appNamespace } },
        },
    };
    const listeners: GatewayListener[] = opts.hosts.map((hostname, i) => ({
        name: `https-${i}`,
        hostname,
        port: 443,
        protocol: "HTTPS",
        tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: opts.credentialName }] },
        allowedRoutes,
    }));
    if (opts.httpsRedirect) {
        listeners.push(
            ...opts.hosts.map((hostname, i) => ({
                name: `http-${i}`,
                hostname,
                port: 80,
                protocol: "HTTP" as const,
                allowedRoutes,
            })),
        );
    }
    return {
        gatewayClassName: ISTIO_GATEWAY_CLASS,
        addresses: [{ type: "Hostname", value: opts.gatewayService }],
        listeners,
    };
}

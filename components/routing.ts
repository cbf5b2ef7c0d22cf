/**
 * Pure routing logic: the Istio specs a canary release needs, computed from plain values.
 *
 * Nothing here touches Pulumi, so it is tested directly (including property tests) and the
 * ComponentResource only wires its results into custom resources.
 */
import {
    DestinationRuleSpec,
    GatewaySpec,
    HTTPRetry,
    HTTPRoute,
    HTTPRouteDestination,
    OutlierDetection,
    ConnectionPoolSettings,
    TLSProtocolVersion,
    VirtualServiceSpec,
} from "./istio-types";
import { Track, TRACKS } from "./names";
import { IntLimits, intProblem } from "./validation";

/** Largest canary weight: weights are percentages of the default route. */
export const MAX_WEIGHT = 100;

/** The range of a canary weight. */
export const WEIGHT_LIMITS: Required<IntLimits> = { min: 0, max: MAX_WEIGHT };

/** Traffic split of the default route, as percentages that always sum to 100. */
export interface Weights {
    /** Percentage of the default route on the stable track. */
    stable: number;
    /** Percentage of the default route on the canary track. */
    canary: number;
}

/**
 * Splits the default route for a canary weight.
 * Throws for anything but an integer from 0 to 100, so a bad weight never reaches a route.
 */
export function splitWeights(canaryWeight: number): Weights {
    const problem = intProblem("canaryWeight", canaryWeight, WEIGHT_LIMITS);
    if (problem !== undefined) {
        throw new RangeError(problem);
    }
    return { stable: MAX_WEIGHT - canaryWeight, canary: canaryWeight };
}

/**
 * Labels of a track's pods that never change over releases: Deployment selectors and subsets use them.
 * The release version goes into a separate `version` label (see {@link podLabels}).
 */
export function selectorLabels(app: string, track: Track): Record<string, string> {
    return { app, track };
}

/** All labels of a track's pods: the selector labels plus `version`, which Istio reports as destination_version. */
export function podLabels(app: string, track: Track, version: string): Record<string, string> {
    return { ...selectorLabels(app, track), version };
}

/** A header that sends a request to the canary whatever the weight (e.g. `x-canary: true`). */
export interface HeaderMatch {
    /** Header name; Istio matches header names in lower case. */
    name: string;
    /** Exact value. */
    value: string;
}

/** A cookie that sends a request to the canary whatever the weight (e.g. `version=v2`). */
export interface CookieMatch {
    /** Cookie name. */
    name: string;
    /** Exact value. */
    value: string;
}

/**
 * Session affinity (Flagger's `sessionAffinity`): while the canary has weight, its responses on the weighted route
 * set a cookie, and requests carrying it go to the canary, so a user who reached the canary stays there for the
 * rest of the release. At weight 0 (before the first shift, after a rollback, after completion) neither exists:
 * holders of the cookie are back on stable at once.
 */
export interface SessionAffinity {
    /** Cookie name. */
    cookieName: string;
    /** The cookie's lifetime in seconds (its Max-Age). */
    maxAgeSeconds: number;
    /** The cookie's value: the canary's version, so a cookie given by another version's canary does not match. */
    value: string;
}

/** The Set-Cookie value the canary's responses carry under session affinity. */
export function affinitySetCookie(a: SessionAffinity): string {
    return `${a.cookieName}=${a.value}; Max-Age=${a.maxAgeSeconds}; Path=/`;
}

/** Inputs of the VirtualService's ordered HTTP routes. */
export interface RouteOptions {
    /** Fully qualified host of the Service over both tracks. */
    host: string;
    /** Service port the routes target. */
    port: number;
    /** Percentage (0..100) of the default route sent to the canary. */
    canaryWeight: number;
    /** Header routing to the canary; off when undefined. */
    header?: HeaderMatch;
    /** Cookie routing to the canary; off when undefined. */
    cookie?: CookieMatch;
    /** Session affinity to the canary while it has weight; off when undefined. */
    sessionAffinity?: SessionAffinity;
    /** Percentage (0..100) of default-route requests mirrored to the canary; 0 or undefined turns it off. */
    mirrorPercent?: number;
    /** Request timeout, e.g. "10s". */
    timeout?: string;
    /** Retry policy. */
    retries?: HTTPRetry;
}

/** Route names, stable so dashboards and tests can find each route. */
export const ROUTE_NAMES = {
    header: "canary-header",
    cookie: "canary-cookie",
    affinity: "canary-session",
    weighted: "weighted",
} as const;

/** Escapes text for use inside an RE2 regular expression (Istio's regex engine). */
export function escapeRegex(text: string): string {
    return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/** RE2 expression matching a Cookie header that contains `name=value` as one of its cookies. */
export function cookieRegex(cookie: CookieMatch): string {
    return `^(.*?;\\s*)?(${escapeRegex(cookie.name)}=${escapeRegex(cookie.value)})(;.*)?$`;
}

/**
 * The VirtualService's ordered HTTP routes: header match to canary, cookie match to canary, the session affinity
 * cookie to canary (while the canary has weight), then the weighted default route. Every route carries the same
 * timeout and retries. Weights are sent explicitly, 0 included.
 */
export function buildHttpRoutes(opts: RouteOptions): HTTPRoute[] {
    const weights = splitWeights(opts.canaryWeight);
    const to = (track: Track, weight: number): HTTPRouteDestination => ({
        destination: { host: opts.host, subset: track, port: { number: opts.port } },
        weight,
    });
    const policy = {
        ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    };
    const routes: HTTPRoute[] = [];
    if (opts.header) {
        routes.push({
            name: ROUTE_NAMES.header,
            match: [{ headers: { [opts.header.name.toLowerCase()]: { exact: opts.header.value } } }],
            route: [to("canary", MAX_WEIGHT)],
            ...policy,
        });
    }
    if (opts.cookie) {
        routes.push({
            name: ROUTE_NAMES.cookie,
            match: [{ headers: { cookie: { regex: cookieRegex(opts.cookie) } } }],
            route: [to("canary", MAX_WEIGHT)],
            ...policy,
        });
    }
    const affinity = weights.canary > 0 ? opts.sessionAffinity : undefined;
    if (affinity) {
        routes.push({
            name: ROUTE_NAMES.affinity,
            match: [
                { headers: { cookie: { regex: cookieRegex({ name: affinity.cookieName, value: affinity.value }) } } },
            ],
            route: [to("canary", MAX_WEIGHT)],
            ...policy,
        });
    }
    const mirror =
        opts.mirrorPercent !== undefined && opts.mirrorPercent > 0
            ? {
                  mirror: { host: opts.host, subset: "canary", port: { number: opts.port } },
                  mirrorPercentage: { value: opts.mirrorPercent },
              }
            : {};
    const canary = to("canary", weights.canary);
    if (affinity) {
        canary.headers = { response: { add: { "set-cookie": affinitySetCookie(affinity) } } };
    }
    routes.push({
        name: ROUTE_NAMES.weighted,
        route: [to("stable", weights.stable), canary],
        ...mirror,
        ...policy,
    });
    return routes;
}

/**
 * Istio's `exportTo` of a release's VirtualService and DestinationRule: the app's namespace and the gateway's (whose
 * pods apply the routes), and the namespaces `extra` names; "*" among them exports to every namespace.
 */
export function exportNamespaces(appNamespace: string, gatewayNamespace: string, extra: string[] = []): string[] {
    return extra.includes("*") ? ["*"] : [...new Set([appNamespace, gatewayNamespace, ...extra])];
}

/** Inputs of the VirtualService spec. */
export interface VirtualServiceOptions extends RouteOptions {
    /** External hosts served through the gateway. */
    hosts: string[];
    /** `namespace/name` of the Gateway. */
    gateway: string;
    /** Also route in-mesh callers of {@link RouteOptions.host} (adds the `mesh` gateway). Defaults to true. */
    mesh?: boolean;
    /** Namespaces that may use it (Istio's exportTo, see {@link exportNamespaces}); every namespace when unset. */
    exportTo?: string[];
}

/** The VirtualService spec: routes bound to the gateway and, by default, the mesh. */
export function buildVirtualServiceSpec(opts: VirtualServiceOptions): VirtualServiceSpec {
    const mesh = opts.mesh ?? true;
    return {
        hosts: mesh ? [...opts.hosts, opts.host] : [...opts.hosts],
        gateways: mesh ? [opts.gateway, "mesh"] : [opts.gateway],
        ...(opts.exportTo !== undefined ? { exportTo: [...opts.exportTo] } : {}),
        http: buildHttpRoutes(opts),
    };
}

/** The DestinationRule spec: one subset per track, mutual TLS inside the mesh, optional pool and outlier limits. */
export function buildDestinationRuleSpec(opts: {
    host: string;
    app: string;
    connectionPool?: ConnectionPoolSettings;
    outlierDetection?: OutlierDetection;
    /** Namespaces that may use it (Istio's exportTo); every namespace when unset. */
    exportTo?: string[];
}): DestinationRuleSpec {
    return {
        host: opts.host,
        ...(opts.exportTo !== undefined ? { exportTo: [...opts.exportTo] } : {}),
        trafficPolicy: {
            tls: { mode: "ISTIO_MUTUAL" },
            ...(opts.connectionPool ? { connectionPool: opts.connectionPool } : {}),
            ...(opts.outlierDetection ? { outlierDetection: opts.outlierDetection } : {}),
        },
        subsets: TRACKS.map((track) => ({ name: track, labels: selectorLabels(opts.app, track) })),
    };
}

/** The Gateway spec: HTTPS with the TLS secret and, optionally, plain HTTP that redirects to HTTPS. */
export function buildGatewaySpec(opts: {
    selector: Record<string, string>;
    hosts: string[];
    credentialName: string;
    minTlsVersion: TLSProtocolVersion;
    httpsRedirect: boolean;
}): GatewaySpec {
    const spec: GatewaySpec = {
        selector: { ...opts.selector },
        servers: [
            {
                port: { number: 443, name: "https", protocol: "HTTPS" },
                hosts: [...opts.hosts],
                tls: { mode: "SIMPLE", credentialName: opts.credentialName, minProtocolVersion: opts.minTlsVersion },
            },
        ],
    };
    if (opts.httpsRedirect) {
        spec.servers.push({
            port: { number: 80, name: "http", protocol: "HTTP" },
            hosts: [...opts.hosts],
            tls: { httpsRedirect: true },
        });
    }
    return spec;
}

/** Canary replica count for a weight. */
export interface ReplicaOptions {
    /** Replicas of the stable Deployment (a full-size track). */
    stableReplicas: number;
    /** Canary replicas when not scaling with the weight, and the floor when scaling. */
    canaryReplicas: number;
    /** Scale the canary with its share of traffic, as Argo Rollouts' setCanaryScale matchTrafficWeight. */
    scaleWithWeight: boolean;
    canaryWeight: number;
}

/**
 * Canary replicas: fixed, or ceil(stableReplicas * weight / 100) when scaling with the weight, never below the
 * configured floor and never zero while the weight is above zero.
 */
export function canaryReplicaCount(opts: ReplicaOptions): number {
    const { canary } = splitWeights(opts.canaryWeight);
    if (!opts.scaleWithWeight) {
        return canary > 0 ? Math.max(1, opts.canaryReplicas) : opts.canaryReplicas;
    }
    const matched = Math.ceil((opts.stableReplicas * canary) / MAX_WEIGHT);
    return Math.max(opts.canaryReplicas, matched, canary > 0 ? 1 : 0);
}

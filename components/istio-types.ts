/**
 * TypeScript types for the parts of Istio's networking.istio.io/v1 API that this package writes.
 *
 * Field names and shapes follow Istio's reference (istio.io/api networking/v1alpha3 protos, served as v1):
 * only the fields we set are typed, so a typo in a field name is a compile error rather than a silently
 * ignored key in a custom resource.
 */

/** API version of every Istio networking resource created here (GA since Istio 1.22). */
export const ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1";

/** A string match on a header or URI: exactly one of the fields is set. */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

/** `HTTPMatchRequest`: all listed conditions must hold for the request to match. */
export interface HTTPMatchRequest {
    /** Header name (lower-case) to match. */
    headers?: Record<string, StringMatch>;
}

/** `Destination`: a host, optionally narrowed to a DestinationRule subset. */
export interface Destination {
    /** Service host, preferably fully qualified (`name.namespace.svc.cluster.local`). */
    host: string;
    /** Subset name defined in the DestinationRule of `host`. */
    subset?: string;
    /** Port of the destination service. */
    port?: { number: number };
}

/** `HTTPRouteDestination`: a destination with its relative weight. */
export interface HTTPRouteDestination {
    destination: Destination;
    /** Relative share of traffic; sent explicitly even when 0. */
    weight: number;
    /** Header manipulation for requests to, and responses from, this destination. */
    headers?: Headers;
}

/** `Headers`: operations on request and response headers. */
export interface Headers {
    request?: HeaderOperations;
    response?: HeaderOperations;
}

/** `Headers.HeaderOperations`: `add` appends a value (a response keeps the app's own values of that header). */
export interface HeaderOperations {
    set?: Record<string, string>;
    add?: Record<string, string>;
    remove?: string[];
}

/** `HTTPRetry`. */
export interface HTTPRetry {
    /** Retries per request. */
    attempts: number;
    /** Duration such as "2s". */
    perTryTimeout?: string;
    /** Comma-separated Envoy retry conditions. */
    retryOn?: string;
}

/** `HTTPRoute`: one entry of a VirtualService's ordered `http` list. */
export interface HTTPRoute {
    /** Route name, shown in Envoy stats and access logs. */
    name: string;
    match?: HTTPMatchRequest[];
    route: HTTPRouteDestination[];
    /** Copy of the traffic sent (fire and forget) to this destination. */
    mirror?: Destination;
    /** Percentage (0..100) of requests that are mirrored. */
    mirrorPercentage?: { value: number };
    /** Duration such as "10s". */
    timeout?: string;
    retries?: HTTPRetry;
}

/** `VirtualService` spec. */
export interface VirtualServiceSpec {
    hosts: string[];
    /** Namespaces whose sidecars and gateways may use it ("*": every namespace). */
    exportTo?: string[];
    /** `namespace/name` of Gateways, plus `mesh` for sidecars. */
    gateways: string[];
    http: HTTPRoute[];
}

/** `Subset` of a DestinationRule. */
export interface Subset {
    name: string;
    labels: Record<string, string>;
}

/** `ConnectionPoolSettings.TCPSettings` (only the fields exposed by this package). */
export interface TCPSettings {
    /** Maximum HTTP/1.1 or TCP connections to a destination host. */
    maxConnections?: number;
}

/** `ConnectionPoolSettings.HTTPSettings` (only the fields exposed by this package). */
export interface HTTPSettings {
    /** Maximum requests queued while waiting for a connection. */
    http1MaxPendingRequests?: number;
    /** Maximum active requests to a destination. */
    http2MaxRequests?: number;
}

/** `ConnectionPoolSettings` (only the fields exposed by this package). */
export interface ConnectionPoolSettings {
    /** TCP connection limits. */
    tcp?: TCPSettings;
    /** HTTP request limits. */
    http?: HTTPSettings;
}

/** `OutlierDetection` (only the fields exposed by this package). */
export interface OutlierDetection {
    /** Consecutive 5xx responses that eject a host from the pool. */
    consecutive5xxErrors: number;
    /** Time between ejection sweeps, such as "10s". */
    interval: string;
    /** Minimum ejection duration, such as "30s". */
    baseEjectionTime: string;
    /** Maximum percentage of hosts that can be ejected. */
    maxEjectionPercent?: number;
}

/** `TrafficPolicy`. */
export interface TrafficPolicy {
    tls: { mode: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL" };
    connectionPool?: ConnectionPoolSettings;
    outlierDetection?: OutlierDetection;
}

/** `DestinationRule` spec. */
export interface DestinationRuleSpec {
    host: string;
    /** Namespaces whose sidecars and gateways may use it ("*": every namespace). */
    exportTo?: string[];
    trafficPolicy: TrafficPolicy;
    subsets: Subset[];
}

/** TLS protocol versions a Gateway server accepts as its minimum (Istio's `TLSProtocol`, 1.2 and up). */
export const TLSProtocolVersion = {
    /** TLS 1.2. */
    TLSV1_2: "TLSV1_2",
    /** TLS 1.3. */
    TLSV1_3: "TLSV1_3",
} as const;
export type TLSProtocolVersion = (typeof TLSProtocolVersion)[keyof typeof TLSProtocolVersion];

/** `ServerTLSSettings`. */
export type ServerTLSSettings =
    | { httpsRedirect: true }
    | {
          mode: "SIMPLE";
          /** Name of a kubernetes.io/tls Secret in the namespace of the gateway workload. */
          credentialName: string;
          minProtocolVersion: TLSProtocolVersion;
      };

/** `Server` of a Gateway. */
export interface Server {
    port: { number: number; name: string; protocol: "HTTP" | "HTTPS" };
    hosts: string[];
    tls: ServerTLSSettings;
}

/** `Gateway` spec. */
export interface GatewaySpec {
    /** Labels of the gateway workload's pods. */
    selector: Record<string, string>;
    servers: Server[];
}

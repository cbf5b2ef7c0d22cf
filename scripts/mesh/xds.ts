/**
 * An xDS client that reads what istiod serves to a given proxy identity, over the Aggregated Discovery Service on
 * istiod's plaintext xDS port (the Unix socket $ISTIOD_XDS_SOCKET). Used with the ingress gateway's identity (a
 * `router~<gateway pod IP>~<pod>.<ns>~<ns>.svc.cluster.local` node id) to read the routes the gateway would get;
 * xds-inbound.ts reads what it gives a proxyless gRPC server in an app pod.
 *
 * The Envoy API protos are the ones @grpc/grpc-js-xds ships (its deps/ directory), decoded with protobufjs.
 */
import * as fs from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as protobuf from "protobufjs";

export const LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
export const ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
export const HCM_TYPE =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

const ADS_METHOD = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

let root: protobuf.Root | undefined;
/** The Envoy API protos (loaded once). */
export function protos(): protobuf.Root {
    if (root) {
        return root;
    }
    const deps = path.join(path.dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
    const dirs = [
        ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => path.join(deps, d)),
        // google/protobuf/descriptor.proto (the other well-known types are protobufjs' built-in common types)
        path.dirname(require.resolve("protobufjs/package.json")),
    ];
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => {
        for (const d of dirs) {
            const p = path.join(d, target);
            if (fs.existsSync(p)) {
                return p;
            }
        }
        return target; // google/protobuf/*: protobufjs' built-in common types
    };
    r.loadSync(
        [
            "envoy/service/discovery/v3/discovery.proto",
            "envoy/config/listener/v3/listener.proto",
            "envoy/config/route/v3/route.proto",
            "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
            "envoy/extensions/filters/http/rbac/v3/rbac.proto",
            "envoy/extensions/transport_sockets/tls/v3/tls.proto",
        ],
        { keepCase: true },
    );
    root = r;
    return r;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, oneofs: true };

/** The parts of the Envoy messages read here (protobufjs plain objects, field names as in the protos). */
export interface AnyMessage {
    type_url: string;
    value: Uint8Array;
}
interface DiscoveryResponse {
    type_url: string;
    resources?: AnyMessage[];
}
export interface Listener {
    name: string;
    filter_chains?: {
        name?: string;
        filters?: { name: string; typed_config?: AnyMessage }[];
        transport_socket?: { name?: string; typed_config?: AnyMessage };
    }[];
}
export interface HttpConnectionManager {
    rds?: { route_config_name?: string };
    http_filters?: { name: string; typed_config?: AnyMessage }[];
}
interface HeaderMatcher {
    name: string;
    string_match?: { exact?: string; safe_regex?: { regex?: string } };
    exact_match?: string;
    safe_regex_match?: { regex?: string };
    present_match?: boolean;
}
interface Route {
    name?: string;
    match?: { headers?: HeaderMatcher[] };
    route?: { cluster?: string; weighted_clusters?: { clusters?: ClusterWeight[] } };
}
/** A destination of a split route, with the headers Envoy adds to its responses. */
interface ClusterWeight {
    name: string;
    weight?: { value?: number };
    response_headers_to_add?: { header?: { key?: string; value?: string } }[];
}

export interface RouteConfiguration {
    name: string;
    virtual_hosts?: { name: string; domains?: string[]; routes?: Route[] }[];
}

/** Decodes a google.protobuf.Any of a known type to a plain object. */
export function decodeAny<T>(any: AnyMessage): T {
    const name = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
    const type = protos().lookupType(name);
    return type.toObject(type.decode(any.value), TO_OBJECT) as T;
}

/** A google.protobuf.Struct from plain JSON-ish values (protobufjs' built-in well-known types use camelCase). */
function toStruct(v: Record<string, unknown>): Record<string, unknown> {
    const value = (x: unknown): Record<string, unknown> => {
        if (x === null || x === undefined) {
            return { nullValue: "NULL_VALUE" };
        }
        if (typeof x === "string") {
            return { stringValue: x };
        }
        if (typeof x === "number") {
            return { numberValue: x };
        }
        if (typeof x === "boolean") {
            return { boolValue: x };
        }
        if (Array.isArray(x)) {
            return { listValue: { values: x.map(value) } };
        }
        return { structValue: toStruct(x as Record<string, unknown>) };
    };
    return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) };
}

export interface XdsNode {
    id: string;
    metadata: Record<string, unknown>;
}

/** The node of an ingress gateway pod, as Istio's gateway proxy (pilot-agent) identifies itself. */
export function gatewayNode(
    pod: { name: string; namespace: string; ip: string; labels: Record<string, string> },
    istioVersion: string,
): XdsNode {
    return {
        id: `router~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
        metadata: {
            NAMESPACE: pod.namespace,
            NAME: pod.name,
            CLUSTER_ID: "Kubernetes",
            ISTIO_VERSION: istioVersion,
            LABELS: pod.labels,
            INSTANCE_IPS: pod.ip,
            SERVICE_ACCOUNT: "istio-ingressgateway",
        },
    };
}

/**
 * One ADS request on a fresh stream: sends a DiscoveryRequest for `typeUrl` (and `names`; empty = all) as `node`
 * and resolves with the resources of the first response of that type.
 */
export function fetchResources<T>(
    target: string,
    node: XdsNode,
    typeUrl: string,
    names: string[] = [],
    timeoutMs = 15_000,
): Promise<T[]> {
    const p = protos();
    const Req = p.lookupType("envoy.service.discovery.v3.DiscoveryRequest");
    const Res = p.lookupType("envoy.service.discovery.v3.DiscoveryResponse");
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    return new Promise((resolve, reject) => {
        const call = client.makeBidiStreamRequest<Record<string, unknown>, DiscoveryResponse>(
            ADS_METHOD,
            (m) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
            (b) => Res.toObject(Res.decode(b), { ...TO_OBJECT, bytes: Buffer }) as DiscoveryResponse,
        );
        const done = (err?: Error, resources?: T[]) => {
            clearTimeout(timer);
            call.cancel();
            client.close();
            if (err) {
                reject(err);
            } else {
                resolve(resources ?? []);
            }
        };
        const timer = setTimeout(
            () => done(new Error(`no ${typeUrl} response from istiod in ${timeoutMs} ms (node ${node.id})`)),
            timeoutMs,
        );
        call.on("data", (res: DiscoveryResponse) => {
            if (res.type_url === typeUrl) {
                done(
                    undefined,
                    (res.resources ?? []).map((r) => decodeAny<T>(r)),
                );
            }
        });
        call.on("error", (e: grpc.ServiceError) => {
            if (e.code !== grpc.status.CANCELLED) {
                done(new Error(`ADS stream to ${target}: ${e.message}`));
            }
        });
        call.write({
            node: { id: node.id, metadata: toStruct(node.metadata) },
            type_url: typeUrl,
            resource_names: names,
        });
    });
}

/** One HTTP route as istiod programs it: name, matches, and where it sends traffic. */
export interface RouteView {
    name: string;
    /** Header matches: [header name, "exact:<value>" | "regex:<re>" | "present"]. */
    headers: [string, string][];
    /**
     * Destination clusters with their weights (one cluster with weight 100 when the route is not split), and for a
     * split route the headers Envoy adds to each cluster's responses ([name, value]).
     */
    clusters: { name: string; weight: number; responseHeaders?: [string, string][] }[];
}

function headerMatch(h: HeaderMatcher): [string, string] {
    const sm = h.string_match;
    if (sm?.exact !== undefined) {
        return [h.name, `exact:${sm.exact}`];
    }
    if (sm?.safe_regex?.regex !== undefined) {
        return [h.name, `regex:${sm.safe_regex.regex}`];
    }
    if (h.exact_match !== undefined) {
        return [h.name, `exact:${h.exact_match}`];
    }
    if (h.safe_regex_match?.regex !== undefined) {
        return [h.name, `regex:${h.safe_regex_match.regex}`];
    }
    return [h.name, h.present_match ? "present" : JSON.stringify(h)];
}

/** The routes of the virtual host serving `domain` in route configurations, in order. */
export function routesFor(routeConfigs: RouteConfiguration[], domain: string): RouteView[] | undefined {
    for (const rc of routeConfigs) {
        for (const vh of rc.virtual_hosts ?? []) {
            if (!(vh.domains ?? []).includes(domain)) {
                continue;
            }
            return (vh.routes ?? []).map((r) => {
                const action = r.route ?? {};
                const clusters = action.weighted_clusters
                    ? (action.weighted_clusters.clusters ?? []).map((c) => ({
                          name: c.name,
                          weight: c.weight?.value ?? 0,
                          ...(c.response_headers_to_add?.length
                              ? {
                                    responseHeaders: c.response_headers_to_add.map((h): [string, string] => [
                                        h.header?.key ?? "",
                                        h.header?.value ?? "",
                                    ]),
                                }
                              : {}),
                      }))
                    : action.cluster
                      ? [{ name: action.cluster, weight: 100 }]
                      : [];
                return { name: r.name ?? "", headers: (r.match?.headers ?? []).map(headerMatch), clusters };
            });
        }
    }
    return undefined;
}

/**
 * The routes istiod gives an ingress gateway for `host`: its listeners (LDS), the route configurations they name
 * (RDS), and the virtual host for `host` in them.
 */
export async function gatewayRoutes(
    target: string,
    node: XdsNode,
    host: string,
): Promise<{ routeNames: string[]; routes: RouteView[] }> {
    const listeners = await fetchResources<Listener>(target, node, LISTENER_TYPE);
    const names = new Set<string>();
    for (const l of listeners) {
        for (const fc of l.filter_chains ?? []) {
            for (const f of fc.filters ?? []) {
                if (f.typed_config?.type_url === HCM_TYPE) {
                    const name = decodeAny<HttpConnectionManager>(f.typed_config).rds?.route_config_name;
                    if (name) {
                        names.add(name);
                    }
                }
            }
        }
    }
    if (names.size === 0) {
        throw new Error(
            `istiod gave ${node.id} no listener with routes (${listeners.length} listeners: ${listeners.map((l) => l.name).join(", ")})`,
        );
    }
    const routeNames = [...names].sort();
    const configs = await fetchResources<RouteConfiguration>(target, node, ROUTE_TYPE, routeNames);
    const routes = routesFor(configs, host);
    if (!routes) {
        const domains = configs.flatMap((c) => (c.virtual_hosts ?? []).flatMap((v) => v.domains ?? []));
        throw new Error(
            `no virtual host for ${host} in routes ${routeNames.join(", ")} (domains: ${domains.join(", ")})`,
        );
    }
    return { routeNames, routes };
}

/** The canary's share (percent) of a route's clusters: subset "canary" against the rest. */
export function canaryPercent(route: RouteView): number {
    const total = route.clusters.reduce((s, c) => s + c.weight, 0);
    const canary = route.clusters.filter((c) => c.name.split("|")[2] === "canary").reduce((s, c) => s + c.weight, 0);
    return total === 0 ? 0 : (100 * canary) / total;
}

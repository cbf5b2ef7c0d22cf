/**
 * What istiod gives a proxyless gRPC server in an app pod (Istio's proxyless gRPC: the pod's bootstrap asks for
 * `xds.istio.io/grpc/lds/inbound/<ip>:<port>`): its inbound listener, with the mutual TLS a PeerAuthentication asks
 * for and the RBAC HTTP filters istiod builds from AuthorizationPolicies (pilot/pkg/networking/grpcgen/lds.go).
 * @grpc/grpc-js-xds's XdsServer enforces both (gRFC A29 and A41); the e2e suite reads them over xDS.
 */
import {
    AnyMessage,
    decodeAny,
    fetchResources,
    HCM_TYPE,
    HttpConnectionManager,
    Listener,
    LISTENER_TYPE,
    protos,
    XdsNode,
} from "./xds";

const RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const DOWNSTREAM_TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

interface DownstreamTlsContext {
    require_client_certificate?: { value?: boolean };
}
interface RbacFilter {
    rules?: { action?: string; policies?: Record<string, unknown> };
}

/**
 * The node of a proxyless gRPC server in an app pod, as its gRPC bootstrap would identify it (Istio's proxyless
 * gRPC: a `sidecar` node id with the pod's IP, metadata GENERATOR grpc): istiod finds the pod by its IP, and its
 * Services, policies and labels with it.
 */
export function grpcServerNode(pod: {
    name: string;
    namespace: string;
    ip: string;
    labels: Record<string, string>;
    serviceAccount: string;
}): XdsNode {
    return {
        id: `sidecar~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
        metadata: {
            GENERATOR: "grpc",
            NAMESPACE: pod.namespace,
            NAME: pod.name,
            CLUSTER_ID: "Kubernetes",
            LABELS: pod.labels,
            INSTANCE_IPS: pod.ip,
            SERVICE_ACCOUNT: pod.serviceAccount,
        },
    };
}

/** The resource name of a proxyless gRPC server's inbound listener (its bootstrap's listener name template). */
export function inboundListenerName(ip: string, port: number): string {
    return `xds.istio.io/grpc/lds/inbound/${ip}:${port}`;
}

/** One filter chain of an inbound listener, as far as security goes. */
export interface InboundChain {
    /** "inbound-mtls" (STRICT) or "inbound-plaintext". */
    name: string;
    /** The server asks every client for a certificate (mutual TLS). */
    requireClientCertificate: boolean;
    /** The RBAC HTTP filters, in order: their action, policy names and the principals they match. */
    rbac: { action: string; policies: string[]; principals: string[] }[];
}

/** Every principal an RBAC policy matches (`principal_name` string matchers, "*" where a prefix or suffix). */
function principalNames(v: unknown, out: string[] = []): string[] {
    if (Array.isArray(v)) {
        v.forEach((x) => principalNames(x, out));
    } else if (typeof v === "object" && v !== null) {
        for (const [k, x] of Object.entries(v)) {
            const m = x as { exact?: string; prefix?: string; suffix?: string } | null;
            if (k === "principal_name" && m !== null && typeof m === "object") {
                out.push(m.exact ?? (m.prefix !== undefined ? `${m.prefix}*` : `*${m.suffix ?? ""}`));
            } else {
                principalNames(x, out);
            }
        }
    }
    return out;
}

/** The security of an inbound listener: per filter chain, its mutual TLS and RBAC filters. */
export function inboundSecurityOf(listener: Listener): InboundChain[] {
    return (listener.filter_chains ?? []).map((fc) => {
        const tls = fc.transport_socket?.typed_config;
        const tlsContext = tls?.type_url === DOWNSTREAM_TLS_TYPE ? decodeAny<DownstreamTlsContext>(tls) : undefined;
        const hcm = (fc.filters ?? []).find((f) => f.typed_config?.type_url === HCM_TYPE);
        const filters = hcm ? (decodeAny<HttpConnectionManager>(hcm.typed_config!).http_filters ?? []) : [];
        return {
            name: fc.name ?? "",
            requireClientCertificate: tlsContext?.require_client_certificate?.value === true,
            rbac: filters
                .filter((f) => f.typed_config?.type_url === RBAC_TYPE)
                .map((f) => {
                    const rules = decodeAny<RbacFilter>(f.typed_config!).rules ?? {};
                    return {
                        action: rules.action ?? "ALLOW",
                        policies: Object.keys(rules.policies ?? {}).sort(),
                        principals: [...new Set(principalNames(rules.policies ?? {}))].sort(),
                    };
                }),
        };
    });
}

/**
 * What istiod gives a proxyless gRPC server on `ip:port` for `node` (an app pod): its inbound listener's filter
 * chains, their mutual TLS and RBAC. Throws when istiod serves no such listener.
 */
export async function inboundSecurity(
    target: string,
    node: XdsNode,
    ip: string,
    port: number,
): Promise<InboundChain[]> {
    const name = inboundListenerName(ip, port);
    const listeners = await fetchResources<Listener>(target, node, LISTENER_TYPE, [name]);
    const listener = listeners.find((l) => l.name === name);
    if (!listener) {
        throw new Error(
            `istiod gave ${node.id} no listener ${name} (${listeners.length} listeners: ${listeners.map((l) => l.name).join(", ")})`,
        );
    }
    return inboundSecurityOf(listener);
}

/** Encodes a message of a loaded Envoy type as a google.protobuf.Any (tests build listeners with it). */
export function encodeAny(typeName: string, message: Record<string, unknown>): AnyMessage {
    const type = protos().lookupType(typeName);
    return {
        type_url: `type.googleapis.com/${typeName}`,
        value: type.encode(type.fromObject(message)).finish(),
    };
}

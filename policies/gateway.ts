/** The Gateway policy: every TLS server accepts nothing older than the configured minimum TLS version. */
import { at, isGateway, isObject, objectName } from "./kube";
import { resourcePolicy, ResourceUnderTest } from "./policy";

/** Istio's TLS protocol versions, oldest first. */
export const TLS_VERSIONS = ["TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

const isTlsVersion = (v: unknown): v is TlsVersion => (TLS_VERSIONS as readonly unknown[]).includes(v);

/** What Envoy accepts as a server when minProtocolVersion is unset or TLS_AUTO. */
const SERVER_DEFAULT: TlsVersion = "TLSV1_2";

/** TLS modes that terminate TLS at the gateway (PASSTHROUGH and AUTO_PASSTHROUGH leave it to the backend). */
const TERMINATING = ["SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL"];

export interface GatewayTlsConfig {
    /** The oldest TLS version a Gateway server may accept. */
    minVersion: TlsVersion;
}

export function gatewayTlsViolations(r: ResourceUnderTest, config: GatewayTlsConfig): string[] {
    if (!isGateway(r.type)) {
        return [];
    }
    const servers = at(r.props, "spec", "servers");
    const out: string[] = [];
    for (const [i, s] of (Array.isArray(servers) ? servers : []).entries()) {
        const tls = at(s, "tls");
        if (
            !isObject(tls) ||
            !TERMINATING.includes(typeof tls.mode === "string" ? tls.mode : "SIMPLE") ||
            tls.httpsRedirect === true
        ) {
            continue;
        }
        const given = tls.minProtocolVersion;
        const effective = given === undefined || given === "TLS_AUTO" ? SERVER_DEFAULT : given;
        if (!isTlsVersion(effective)) {
            continue; // not known yet (a preview), or not a version: Istio's validation rejects the latter
        }
        if (TLS_VERSIONS.indexOf(effective) < TLS_VERSIONS.indexOf(config.minVersion)) {
            const port = at(s, "port", "number");
            out.push(
                `Gateway ${objectName(r.props)} server ${i} (port ${String(port)}) accepts ${given === undefined ? `${effective} (unset: Envoy's default)` : effective}; ` +
                    `the minimum TLS version must be ${config.minVersion} or later`,
            );
        }
    }
    return out;
}

export const gatewayMinTls = resourcePolicy<GatewayTlsConfig>({
    name: "gateway-min-tls",
    description: "Every TLS server of an Istio Gateway requires at least TLS 1.2 (or the configured minimum).",
    defaults: { minVersion: "TLSV1_2" },
    schema: {
        minVersion: {
            type: "string",
            enum: ["TLSV1_2", "TLSV1_3"],
            description: "The oldest TLS version a Gateway server may accept.",
        },
    },
    check: gatewayTlsViolations,
});

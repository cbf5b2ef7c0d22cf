/**
 * The e2e suite's reader of what istiod serves a proxyless gRPC server (scripts/mesh/xds-inbound.ts), on listeners built
 * here the way istiod's grpcgen builds them (pilot/pkg/networking/grpcgen/lds.go): decoded without a cluster.
 */
import * as assert from "assert";
import { Listener } from "../../scripts/mesh/xds";
import { encodeAny, grpcServerNode, inboundListenerName, inboundSecurityOf } from "../../scripts/mesh/xds-inbound";
import { principalOf, spiffeId } from "../../scripts/mesh/certs";

const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const RBAC = "envoy.extensions.filters.http.rbac.v3.RBAC";
const TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

const authenticated = (exact: string) => ({ authenticated: { principal_name: { exact } } });

function listener(mtls: boolean, rbac: boolean): Listener {
    const httpFilters = [
        ...(rbac
            ? [
                  {
                      name: "envoy.filters.http.rbac",
                      typed_config: encodeAny(RBAC, {
                          rules: {
                              action: "ALLOW",
                              policies: {
                                  "shop-mesh-shop-0": {
                                      permissions: [{ any: true }],
                                      principals: [
                                          {
                                              or_ids: {
                                                  ids: [
                                                      authenticated("spiffe://cluster.local/ns/istio-ingress/sa/gw"),
                                                      authenticated("spiffe://cluster.local/ns/shop-mesh/sa/client"),
                                                  ],
                                              },
                                          },
                                          { authenticated: { principal_name: { suffix: "/sa/batch" } } },
                                      ],
                                  },
                              },
                          },
                      }),
                  },
              ]
            : []),
        { name: "envoy.filters.http.router" },
    ];
    return {
        name: inboundListenerName("10.244.0.7", 8080),
        filter_chains: [
            {
                name: mtls ? "inbound-mtls" : "inbound-plaintext",
                filters: [
                    {
                        name: "inbound-hcm",
                        typed_config: encodeAny(HCM, { stat_prefix: "in", http_filters: httpFilters }),
                    },
                ],
                ...(mtls
                    ? {
                          transport_socket: {
                              name: "envoy.transport_sockets.tls",
                              typed_config: encodeAny(TLS, { require_client_certificate: { value: true } }),
                          },
                      }
                    : {}),
            },
        ],
    };
}

describe("mesh: what istiod serves a proxyless gRPC server", () => {
    it("reads STRICT mutual TLS and the ALLOW RBAC filter's principals from an inbound listener", () => {
        assert.deepStrictEqual(inboundSecurityOf(listener(true, true)), [
            {
                name: "inbound-mtls",
                requireClientCertificate: true,
                rbac: [
                    {
                        action: "ALLOW",
                        policies: ["shop-mesh-shop-0"],
                        principals: [
                            "*/sa/batch",
                            "spiffe://cluster.local/ns/istio-ingress/sa/gw",
                            "spiffe://cluster.local/ns/shop-mesh/sa/client",
                        ],
                    },
                ],
            },
        ]);
        assert.deepStrictEqual(inboundSecurityOf(listener(false, false)), [
            { name: "inbound-plaintext", requireClientCertificate: false, rbac: [] },
        ]);
    });

    it("names the listener and the node as a pod's gRPC bootstrap does; principals as policies write them", () => {
        assert.strictEqual(inboundListenerName("10.244.0.7", 8080), "xds.istio.io/grpc/lds/inbound/10.244.0.7:8080");
        const node = grpcServerNode({
            name: "shop-stable-abc",
            namespace: "shop-mesh",
            ip: "10.244.0.7",
            labels: { app: "shop" },
            serviceAccount: "shop",
        });
        assert.strictEqual(node.id, "sidecar~10.244.0.7~shop-stable-abc.shop-mesh~shop-mesh.svc.cluster.local");
        assert.strictEqual(node.metadata.GENERATOR, "grpc");
        assert.strictEqual(
            principalOf(spiffeId("shop-mesh", "mesh-client")),
            "cluster.local/ns/shop-mesh/sa/mesh-client",
        );
    });
});

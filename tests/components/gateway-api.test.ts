/**
 * The `gateway-api` routing mode: the pure builders (components/gateway-api.ts), the CRD reader, and CanaryRelease
 * and IstioMesh wiring it on Pulumi mocks.
 */
import * as assert from "assert";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { IstioMesh } from "../../components/istio-mesh";
import {
    buildGatewayApiGatewaySpec,
    buildGatewayHTTPRouteSpec,
    buildHTTPRouteRules,
    buildMeshHTTPRouteSpec,
    HTTPRouteRule,
    trackOfServiceName,
    trackServiceName,
} from "../../components/gateway-api";
import { readGatewayApiCrds } from "../../components/gateway-api-crds";
import { releaseArgs } from "../fixtures/release";
import { RecordingMocks, value, withMocks } from "../harness";

const GW_API = "kubernetes:gateway.networking.k8s.io/v1";
const optionsArb = fc.record({
    canaryWeight: fc.integer({ min: 0, max: 100 }),
    header: fc.option(fc.record({ name: fc.constant("x-canary"), value: fc.constant("true") }), { nil: undefined }),
    cookie: fc.option(fc.record({ name: fc.constant("version"), value: fc.constant("v2") }), { nil: undefined }),
    sessionAffinity: fc.option(
        fc.record({
            cookieName: fc.constant("canary-session"),
            maxAgeSeconds: fc.constant(600),
            value: fc.constant("v2"),
        }),
        { nil: undefined },
    ),
    mirrorPercent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    timeout: fc.option(fc.constantFrom("10s", "1m30s", "500ms"), { nil: undefined }),
});

const backends = (rule: HTTPRouteRule) => rule.backendRefs!.map((b) => [b.name, b.weight]);

describe("gateway-api routing: the HTTPRoute rules", () => {
    it("mirror the istio mode's routes: match rules to the canary, then the weighted rule over the two Services", () => {
        fc.assert(
            fc.property(optionsArb, (o) => {
                const rules = buildHTTPRouteRules({ app: "shop", port: 80, ...o });
                const affinity = o.sessionAffinity !== undefined && o.canaryWeight > 0;
                const expected = [
                    ...(o.header ? ["canary-header"] : []),
                    ...(o.cookie ? ["canary-cookie"] : []),
                    ...(affinity ? ["canary-session"] : []),
                    "weighted",
                ];
                assert.deepStrictEqual(
                    rules.map((r) => r.name),
                    expected,
                );
                for (const r of rules.slice(0, -1)) {
                    assert.deepStrictEqual(backends(r), [["shop-canary", 100]]);
                }
                const weighted = rules.at(-1)!;
                assert.deepStrictEqual(backends(weighted), [
                    ["shop-stable", 100 - o.canaryWeight],
                    ["shop-canary", o.canaryWeight],
                ]);
                // The Set-Cookie only on the canary's backend, only while it has weight.
                assert.strictEqual(weighted.backendRefs![1].filters !== undefined, affinity);
                assert.strictEqual(weighted.backendRefs![0].filters, undefined);
                assert.strictEqual(weighted.filters !== undefined, (o.mirrorPercent ?? 0) > 0);
                for (const r of rules) {
                    assert.deepStrictEqual(r.timeouts, o.timeout === undefined ? undefined : { request: o.timeout });
                }
            }),
        );
    });

    it("at weight 10 with every option: exact rules", () => {
        assert.deepStrictEqual(
            buildHTTPRouteRules({
                app: "shop",
                port: 80,
                canaryWeight: 10,
                header: { name: "x-canary", value: "true" },
                cookie: { name: "version", value: "v2" },
                sessionAffinity: { cookieName: "canary-session", maxAgeSeconds: 600, value: "v2" },
                mirrorPercent: 5,
                timeout: "10s",
            }),
            [
                {
                    name: "canary-header",
                    matches: [{ headers: [{ type: "Exact", name: "x-canary", value: "true" }] }],
                    backendRefs: [{ name: "shop-canary", port: 80, weight: 100 }],
                    timeouts: { request: "10s" },
                },
                {
                    name: "canary-cookie",
                    matches: [
                        {
                            headers: [
                                { type: "RegularExpression", name: "cookie", value: "^(.*?;\\s*)?(version=v2)(;.*)?$" },
                            ],
                        },
                    ],
                    backendRefs: [{ name: "shop-canary", port: 80, weight: 100 }],
                    timeouts: { request: "10s" },
                },
                {
                    name: "canary-session",
                    matches: [
                        {
                            headers: [
                                {
                                    type: "RegularExpression",
                                    name: "cookie",
                                    value: "^(.*?;\\s*)?(canary-session=v2)(;.*)?$",
                                },
                            ],
                        },
                    ],
                    backendRefs: [{ name: "shop-canary", port: 80, weight: 100 }],
                    timeouts: { request: "10s" },
                },
                {
                    name: "weighted",
                    filters: [
                        {
                            type: "RequestMirror",
                            requestMirror: { backendRef: { name: "shop-canary", port: 80 }, percent: 5 },
                        },
                    ],
                    backendRefs: [
                        { name: "shop-stable", port: 80, weight: 90 },
                        {
                            name: "shop-canary",
                            port: 80,
                            weight: 10,
                            filters: [
                                {
                                    type: "ResponseHeaderModifier",
                                    responseHeaderModifier: {
                                        add: [{ name: "set-cookie", value: "canary-session=v2; Max-Age=600; Path=/" }],
                                    },
                                },
                            ],
                        },
                    ],
                    timeouts: { request: "10s" },
                },
            ],
        );
    });

    it("a track's Service name gives its track back, and no other name does (what the bot's rollback reads)", () => {
        const app = fc.stringMatching(/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/);
        fc.assert(
            fc.property(app, fc.constantFrom("stable" as const, "canary" as const), (a, track) => {
                assert.strictEqual(trackOfServiceName(trackServiceName(a, track)), track);
            }),
        );
        fc.assert(
            fc.property(app, (a) => {
                fc.pre(!/-(stable|canary)$/.test(a));
                assert.strictEqual(trackOfServiceName(a), undefined);
            }),
        );
        assert.strictEqual(trackOfServiceName("shop-stable-x"), undefined);
        assert.strictEqual(trackOfServiceName("shopstable"), undefined);
    });

    it("binds the external route to the Gateway's HTTPS listeners, and the mesh route to the app's Service", () => {
        const opts = { app: "shop", port: 80, canaryWeight: 30 };
        const external = buildGatewayHTTPRouteSpec({
            ...opts,
            hosts: ["a.example.test", "b.example.test"],
            gatewayName: "prod-shop",
            gatewayNamespace: "istio-ingress",
        });
        assert.deepStrictEqual(external.parentRefs, [
            {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                namespace: "istio-ingress",
                name: "prod-shop",
                sectionName: "https-0",
            },
            {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                namespace: "istio-ingress",
                name: "prod-shop",
                sectionName: "https-1",
            },
        ]);
        assert.deepStrictEqual(external.hostnames, ["a.example.test", "b.example.test"]);
        const mesh = buildMeshHTTPRouteSpec(opts);
        assert.deepStrictEqual(mesh.parentRefs, [{ group: "", kind: "Service", name: "shop", port: 80 }]);
        assert.strictEqual(mesh.hostnames, undefined);
        assert.deepStrictEqual(mesh.rules, external.rules);
    });

    it("the Gateway: bound to the existing ingress gateway's Service, TLS per host, routes from the app's namespace only", () => {
        const spec = buildGatewayApiGatewaySpec({
            hosts: ["shop.example.test"],
            credentialName: "prod-shop-tls",
            gatewayService: "istio-ingressgateway.istio-ingress.svc.cluster.local",
            appNamespace: "prod",
            httpsRedirect: true,
        });
        const allowedRoutes = {
            namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "prod" } } },
        };
        assert.deepStrictEqual(spec, {
            gatewayClassName: "istio",
            addresses: [{ type: "Hostname", value: "istio-ingressgateway.istio-ingress.svc.cluster.local" }],
            listeners: [
                {
                    name: "https-0",
                    hostname: "shop.example.test",
                    port: 443,
                    protocol: "HTTPS",
                    tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "prod-shop-tls" }] },
                    allowedRoutes,
                },
                { name: "http-0", hostname: "shop.example.test", port: 80, protocol: "HTTP", allowedRoutes },
            ],
        });
    });
});

describe("gateway-api routing: the CRDs", () => {
    const crd = (plural: string) =>
        [
            "apiVersion: apiextensions.k8s.io/v1",
            "kind: CustomResourceDefinition",
            `metadata: { name: ${plural}.gateway.networking.k8s.io }`,
            "spec: { group: gateway.networking.k8s.io, names: { plural: " + plural + " } }",
        ].join("\n");
    const dir = (files: Record<string, string>) => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-api-crds-"));
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(d, name), text);
        }
        return d;
    };

    it("reads every Gateway API CRD of the directory's YAML files, sorted, skipping other documents", () => {
        const d = dir({
            "a.yaml": `${crd("httproutes")}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }`,
            "b.yaml": crd("gateways"),
            "README.md": "not yaml",
        });
        assert.deepStrictEqual(
            readGatewayApiCrds(d).map((c) => c.metadata.name),
            ["gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"],
        );
    });

    it("refuses a directory without the Gateway or HTTPRoute CRD, or one it cannot read, naming the key", () => {
        const d = dir({ "b.yaml": crd("gateways") });
        assert.throws(() => readGatewayApiCrds(d), {
            message: `gatewayApiCrdsDir must be a directory of the Gateway API's CRD files (its standard channel's gateway.networking.k8s.io_*.yaml); "${d}" has no httproutes.gateway.networking.k8s.io`,
        });
        assert.throws(
            () => readGatewayApiCrds("/nonexistent/crds"),
            /^Error: gatewayApiCrdsDir must be a directory of the Gateway API's CRD files; cannot read "\/nonexistent\/crds"/,
        );
    });

    it("IstioMesh installs them server-side, forced, when gatewayApiCrdsDir is given", async () => {
        const d = dir({ "a.yaml": crd("httproutes"), "b.yaml": crd("gateways") });
        const mocks = await withMocks(() => {
            new IstioMesh("mesh", { install: false, gatewayApiCrdsDir: d });
        });
        const crds = mocks.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition");
        assert.deepStrictEqual(
            crds.map((c) => c.name),
            ["mesh-crd-gateways.gateway.networking.k8s.io", "mesh-crd-httproutes.gateway.networking.k8s.io"],
        );
        assert.strictEqual(crds[0].inputs.metadata.annotations["pulumi.com/patchForce"], "true");
        assert.strictEqual(crds[0].inputs.spec.group, "gateway.networking.k8s.io");
        const none = await withMocks(() => {
            new IstioMesh("mesh", { install: false });
        });
        assert.deepStrictEqual(none.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"), []);
    });
});

describe("CanaryRelease with routingApi gateway-api (mocks)", () => {
    async function deploy(a: CanaryReleaseArgs): Promise<{ mocks: RecordingMocks; release: CanaryRelease }> {
        let release: CanaryRelease | undefined;
        const mocks = await withMocks(() => {
            release = new CanaryRelease("shop", a);
        });
        return { mocks, release: release! };
    }

    it("registers a Service per track, the Gateway and three HTTPRoutes instead of Istio's routing resources", async () => {
        const { mocks, release } = await deploy(releaseArgs({ routingApi: "gateway-api", canaryWeight: 30 }));
        const kinds = mocks
            .custom()
            .map((r) => `${r.type} ${r.name}`)
            .filter((r) => /networking|Service /.test(r))
            .sort();
        assert.deepStrictEqual(kinds, [
            "kubernetes:core/v1:Service shop-svc",
            "kubernetes:core/v1:Service shop-svc-canary",
            "kubernetes:core/v1:Service shop-svc-stable",
            `${GW_API}:Gateway shop-gateway`,
            `${GW_API}:HTTPRoute shop-mesh-route`,
            `${GW_API}:HTTPRoute shop-redirect-route`,
            `${GW_API}:HTTPRoute shop-route`,
            "kubernetes:networking.istio.io/v1:DestinationRule shop-dr-canary",
            "kubernetes:networking.istio.io/v1:DestinationRule shop-dr-stable",
        ]);
        // A DestinationRule per track's Service, for Istio's mutual TLS; no subsets, no VirtualService.
        assert.deepStrictEqual(
            mocks.one("kubernetes:networking.istio.io/v1:DestinationRule", "shop-dr-canary").inputs.spec,
            {
                host: "shop-canary.prod.svc.cluster.local",
                trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
            },
        );
        const gateway = mocks.one(`${GW_API}:Gateway`).inputs;
        assert.deepStrictEqual(gateway.metadata, {
            name: "prod-shop",
            namespace: "istio-ingress",
            labels: { app: "shop" },
        });
        assert.strictEqual(gateway.spec.addresses[0].value, "istio-ingressgateway.istio-ingress.svc.cluster.local");
        const route = mocks.one(`${GW_API}:HTTPRoute`, "shop-route").inputs;
        // Forced: the bot's fast rollback shares the rules; the update recording it must not conflict with it.
        assert.deepStrictEqual(route.metadata, {
            name: "shop",
            namespace: "prod",
            labels: { app: "shop" },
            annotations: { "pulumi.com/patchForce": "true" },
        });
        assert.deepStrictEqual(mocks.one(`${GW_API}:HTTPRoute`, "shop-mesh-route").inputs.metadata.annotations, {
            "pulumi.com/patchForce": "true",
        });
        assert.strictEqual(
            mocks.one(`${GW_API}:HTTPRoute`, "shop-redirect-route").inputs.metadata.annotations,
            undefined,
        );
        assert.deepStrictEqual(backends(route.spec.rules.at(-1)), [
            ["shop-stable", 70],
            ["shop-canary", 30],
        ]);
        const canarySvc = mocks.one("kubernetes:core/v1:Service", "shop-svc-canary").inputs;
        assert.deepStrictEqual(canarySvc.spec.selector, { app: "shop", track: "canary" });
        assert.match(await value(release.routingUrn), /HTTPRoute::shop-route$/);
        // What the release bot targets and refreshes: both routes move together; the tracks' rules are watched.
        const names = (urns: string[]) => urns.map((u) => u.split("$").at(-1));
        assert.deepStrictEqual(names(await value(release.routeUrns)), [
            `${GW_API}:HTTPRoute::shop-route`,
            `${GW_API}:HTTPRoute::shop-mesh-route`,
        ]);
        assert.deepStrictEqual(names(await value(release.routingUrns)), [
            `${GW_API}:HTTPRoute::shop-route`,
            `${GW_API}:HTTPRoute::shop-mesh-route`,
            "kubernetes:networking.istio.io/v1:DestinationRule::shop-dr-stable",
            "kubernetes:networking.istio.io/v1:DestinationRule::shop-dr-canary",
        ]);
    });

    it("routes a gRPC app with GRPCRoutes (the HTTP redirect stays an HTTPRoute)", async () => {
        const { mocks } = await deploy(releaseArgs({ routingApi: "gateway-api", protocol: "grpc" }));
        assert.deepStrictEqual(
            mocks
                .custom()
                .filter((r) => r.type.startsWith(GW_API) && r.type.endsWith("Route"))
                .map((r) => `${r.type.slice(GW_API.length + 1)} ${r.name}`)
                .sort(),
            ["GRPCRoute shop-mesh-route", "GRPCRoute shop-route", "HTTPRoute shop-redirect-route"],
        );
        const mesh = mocks.one(`${GW_API}:GRPCRoute`, "shop-mesh-route").inputs;
        assert.deepStrictEqual(mesh.spec.parentRefs, [{ group: "", kind: "Service", name: "shop", port: 80 }]);
    });

    it("refuses what the Gateway API's standard channel cannot express, each naming the field, before anything is registered", async () => {
        await assert.rejects(
            deploy(
                releaseArgs({
                    routingApi: "gateway-api",
                    retries: { attempts: 3 },
                    exportTo: ["frontend"],
                    tlsMinVersion: "TLSV1_3",
                    timeout: "100000ms",
                }),
            ),
            {
                message: [
                    'retries.attempts cannot be used with routingApi "gateway-api": the Gateway API\'s standard channel has no retries (HTTPRoute retry is experimental); unset it or use routingApi "istio"',
                    'exportTo cannot be used with routingApi "gateway-api": it is Istio\'s visibility of a VirtualService, which this mode does not create; unset it or use routingApi "istio"',
                    'tlsMinVersion cannot be used with routingApi "gateway-api": a Gateway API listener has no TLS minimum (istiod\'s default, TLSV1_2, applies); unset it or use routingApi "istio"',
                    'timeout must be a Gateway API duration such as "10s", "1m30s" or "500ms" (whole numbers of h, m, s or ms) with routingApi "gateway-api"; got "100000ms"',
                ].join("\n"),
            },
        );
        await assert.rejects(deploy(releaseArgs({ routingApi: "gateway-api", protocol: "grpc", timeout: "10s" })), {
            message:
                'timeout cannot be used with routingApi "gateway-api": a gRPC app\'s GRPCRoute has no timeouts; unset it or use routingApi "istio"',
        });
        await assert.rejects(deploy(releaseArgs({ routingApi: "gateway-api", mirrorPercent: 2.5 })), {
            message:
                'mirrorPercent must be a whole percentage with routingApi "gateway-api" (a RequestMirror\'s percent is an integer); got 2.5',
        });
        await assert.rejects(deploy(releaseArgs({ routingApi: "envoy" as never })), {
            message: 'routingApi must be one of istio, gateway-api; got "envoy"',
        });
    });
});

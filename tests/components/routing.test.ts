import * as assert from "assert";
import * as fc from "fast-check";
import {
    buildDestinationRuleSpec,
    buildGatewaySpec,
    buildHttpRoutes,
    buildVirtualServiceSpec,
    exportNamespaces,
    canaryReplicaCount,
    cookieRegex,
    podLabels,
    RouteOptions,
    selectorLabels,
    splitWeights,
} from "../../components/routing";
import { TRACKS } from "../../components/names";

const HOST = "shop.prod.svc.cluster.local";
const base: RouteOptions = { host: HOST, port: 80, canaryWeight: 0 };

/** Does a subset's label selector match a pod's labels? */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const weightArb = fc.integer({ min: 0, max: 100 });
const optionsArb = fc.record({
    canaryWeight: weightArb,
    header: fc.option(fc.record({ name: fc.constantFrom("x-canary", "X-Beta"), value: fc.string({ minLength: 1 }) }), {
        nil: undefined,
    }),
    cookie: fc.option(fc.record({ name: fc.constantFrom("version", "canary"), value: fc.string({ minLength: 1 }) }), {
        nil: undefined,
    }),
    mirrorPercent: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
});
const versionArb = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?$/);

describe("routing (pure)", () => {
    describe("splitWeights", () => {
        it("gives the canary its weight and the stable track the rest", () => {
            assert.deepStrictEqual(splitWeights(0), { stable: 100, canary: 0 });
            assert.deepStrictEqual(splitWeights(10), { stable: 90, canary: 10 });
            assert.deepStrictEqual(splitWeights(100), { stable: 0, canary: 100 });
        });

        it("rejects weights that are not integers from 0 to 100", () => {
            for (const w of [-1, 101, 50.5, NaN]) {
                assert.throws(() => splitWeights(w), {
                    message: `canaryWeight must be an integer from 0 to 100; got ${w}`,
                });
            }
        });

        it("property: the rendered weighted route gives the canary subset exactly canaryWeight, stable the rest", () => {
            fc.assert(
                fc.property(weightArb, optionsArb, (w, opts) => {
                    const weighted = buildHttpRoutes({ ...base, ...opts, canaryWeight: w }).find(
                        (r) => r.name === "weighted",
                    )!;
                    const bySubset = Object.fromEntries(weighted.route.map((d) => [d.destination.subset, d.weight]));
                    assert.deepStrictEqual(bySubset, { canary: w, stable: 100 - w });
                    assert.deepStrictEqual(splitWeights(w), bySubset);
                }),
            );
        });
    });

    describe("buildHttpRoutes", () => {
        it("without options is a single weighted route with both destinations, 0 sent explicitly", () => {
            assert.deepStrictEqual(buildHttpRoutes(base), [
                {
                    name: "weighted",
                    route: [
                        { destination: { host: HOST, subset: "stable", port: { number: 80 } }, weight: 100 },
                        { destination: { host: HOST, subset: "canary", port: { number: 80 } }, weight: 0 },
                    ],
                },
            ]);
        });

        it("orders header match, cookie match, then the weighted default", () => {
            const routes = buildHttpRoutes({
                ...base,
                canaryWeight: 25,
                header: { name: "X-Canary", value: "true" },
                cookie: { name: "version", value: "v2" },
            });
            assert.deepStrictEqual(
                routes.map((r) => r.name),
                ["canary-header", "canary-cookie", "weighted"],
            );
            assert.deepStrictEqual(routes[0].match, [{ headers: { "x-canary": { exact: "true" } } }]);
            assert.deepStrictEqual(routes[0].route, [
                { destination: { host: HOST, subset: "canary", port: { number: 80 } }, weight: 100 },
            ]);
            assert.deepStrictEqual(routes[1].match, [
                { headers: { cookie: { regex: "^(.*?;\\s*)?(version=v2)(;.*)?$" } } },
            ]);
            assert.deepStrictEqual(
                routes[2].route.map((d) => d.weight),
                [75, 25],
            );
        });

        it("mirrors the default route to the canary with a percentage, and not when 0", () => {
            const mirrored = buildHttpRoutes({ ...base, mirrorPercent: 20 }).at(-1)!;
            assert.deepStrictEqual(mirrored.mirror, { host: HOST, subset: "canary", port: { number: 80 } });
            assert.deepStrictEqual(mirrored.mirrorPercentage, { value: 20 });
            const off = buildHttpRoutes({ ...base, mirrorPercent: 0 }).at(-1)!;
            assert.strictEqual(off.mirror, undefined);
            assert.strictEqual(off.mirrorPercentage, undefined);
        });

        it("puts timeout and retries on every route", () => {
            const retries = { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset" };
            const routes = buildHttpRoutes({
                ...base,
                header: { name: "x-canary", value: "true" },
                timeout: "10s",
                retries,
            });
            for (const r of routes) {
                assert.strictEqual(r.timeout, "10s");
                assert.deepStrictEqual(r.retries, retries);
            }
        });

        it("property: every route's weights sum to 100 and every routed subset selects exactly one track's pods", () => {
            const dr = buildDestinationRuleSpec({ host: HOST, app: "shop" });
            fc.assert(
                fc.property(optionsArb, versionArb, versionArb, (opts, stableVersion, canaryVersion) => {
                    const pods = {
                        stable: podLabels("shop", "stable", stableVersion),
                        canary: podLabels("shop", "canary", canaryVersion),
                    };
                    for (const route of buildHttpRoutes({ ...base, ...opts })) {
                        assert.strictEqual(
                            route.route.reduce((s, d) => s + d.weight, 0),
                            100,
                        );
                        const targets = [
                            ...route.route.map((d) => d.destination),
                            ...(route.mirror ? [route.mirror] : []),
                        ];
                        for (const dest of targets) {
                            const subset = dr.subsets.find((s) => s.name === dest.subset);
                            assert.ok(subset, `subset ${dest.subset} is defined`);
                            const matching = TRACKS.filter((t) => selects(subset.labels, pods[t]));
                            assert.deepStrictEqual(matching, [dest.subset], "the subset selects exactly its own track");
                        }
                    }
                }),
            );
        });

        it("property: header and cookie routes appear exactly when configured, always before the default", () => {
            fc.assert(
                fc.property(optionsArb, (opts) => {
                    const names = buildHttpRoutes({ ...base, ...opts }).map((r) => r.name);
                    const expected = [
                        ...(opts.header ? ["canary-header"] : []),
                        ...(opts.cookie ? ["canary-cookie"] : []),
                        "weighted",
                    ];
                    assert.deepStrictEqual(names, expected);
                }),
            );
        });
    });

    describe("session affinity", () => {
        const affinity = { cookieName: "canary-session", maxAgeSeconds: 3600, value: "v2" };
        const cookieOf = (r: ReturnType<typeof buildHttpRoutes>[number]) =>
            r.route.map((d) => [d.destination.subset, d.headers?.response?.add?.["set-cookie"]]);

        it("while the canary has weight: its responses add the cookie, and holders go to the canary", () => {
            const routes = buildHttpRoutes({ ...base, canaryWeight: 10, sessionAffinity: affinity });
            assert.deepStrictEqual(
                routes.map((r) => r.name),
                ["canary-session", "weighted"],
            );
            assert.deepStrictEqual(routes[0].match, [
                { headers: { cookie: { regex: cookieRegex({ name: "canary-session", value: "v2" }) } } },
            ]);
            assert.deepStrictEqual(
                routes[0].route.map((d) => [d.destination.subset, d.weight]),
                [["canary", 100]],
            );
            assert.deepStrictEqual(cookieOf(routes[1]), [
                ["stable", undefined],
                ["canary", "canary-session=v2; Max-Age=3600; Path=/"],
            ]);
        });

        it("property: the route and the cookie exist exactly while the canary has weight, after header and cookie routes", () => {
            fc.assert(
                fc.property(optionsArb, versionArb, (opts, version) => {
                    const routes = buildHttpRoutes({
                        ...base,
                        ...opts,
                        sessionAffinity: { ...affinity, value: version },
                    });
                    const on = opts.canaryWeight > 0;
                    assert.deepStrictEqual(
                        routes.map((r) => r.name),
                        [
                            ...(opts.header ? ["canary-header"] : []),
                            ...(opts.cookie ? ["canary-cookie"] : []),
                            ...(on ? ["canary-session"] : []),
                            "weighted",
                        ],
                    );
                    const weighted = routes.at(-1)!;
                    const setCookie = weighted.route.find((d) => d.destination.subset === "canary")!.headers;
                    assert.deepStrictEqual(
                        setCookie,
                        on
                            ? { response: { add: { "set-cookie": `canary-session=${version}; Max-Age=3600; Path=/` } } }
                            : undefined,
                    );
                    assert.strictEqual(
                        weighted.route.find((d) => d.destination.subset === "stable")!.headers,
                        undefined,
                    );
                }),
            );
        });
    });

    describe("cookieRegex", () => {
        const matches = (re: string, header: string) => new RegExp(re).test(header);
        it("matches the cookie anywhere in the Cookie header and nothing else", () => {
            const re = cookieRegex({ name: "version", value: "v2" });
            assert.ok(matches(re, "version=v2"));
            assert.ok(matches(re, "a=1; version=v2"));
            assert.ok(matches(re, "a=1;version=v2; b=2"));
            assert.ok(!matches(re, "version=v20"));
            assert.ok(!matches(re, "myversion=v2"));
            assert.ok(!matches(re, "version=v1"));
        });
        it("escapes regex characters of the value", () => {
            const re = cookieRegex({ name: "v", value: "1.2" });
            assert.ok(matches(re, "v=1.2"));
            assert.ok(!matches(re, "v=1x2"));
        });
    });

    describe("specs", () => {
        it("DestinationRule: ISTIO_MUTUAL, one subset per track on the track label", () => {
            assert.deepStrictEqual(buildDestinationRuleSpec({ host: HOST, app: "shop" }), {
                host: HOST,
                trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
                subsets: [
                    { name: "stable", labels: { app: "shop", track: "stable" } },
                    { name: "canary", labels: { app: "shop", track: "canary" } },
                ],
            });
        });

        it("DestinationRule: optional connection pool and outlier detection", () => {
            const spec = buildDestinationRuleSpec({
                host: HOST,
                app: "shop",
                connectionPool: { tcp: { maxConnections: 100 } },
                outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" },
            });
            assert.deepStrictEqual(spec.trafficPolicy.connectionPool, { tcp: { maxConnections: 100 } });
            assert.deepStrictEqual(spec.trafficPolicy.outlierDetection, {
                consecutive5xxErrors: 5,
                interval: "10s",
                baseEjectionTime: "30s",
            });
        });

        it("Gateway: HTTPS with credentialName and minimum TLS version, HTTP redirect", () => {
            const spec = buildGatewaySpec({
                selector: { istio: "ingressgateway", app: "istio-ingressgateway" },
                hosts: ["shop.example.test"],
                credentialName: "shop-tls",
                minTlsVersion: "TLSV1_3",
                httpsRedirect: true,
            });
            assert.deepStrictEqual(spec.servers, [
                {
                    port: { number: 443, name: "https", protocol: "HTTPS" },
                    hosts: ["shop.example.test"],
                    tls: { mode: "SIMPLE", credentialName: "shop-tls", minProtocolVersion: "TLSV1_3" },
                },
                {
                    port: { number: 80, name: "http", protocol: "HTTP" },
                    hosts: ["shop.example.test"],
                    tls: { httpsRedirect: true },
                },
            ]);
            const noRedirect = buildGatewaySpec({
                selector: {},
                hosts: ["a.test"],
                credentialName: "c",
                minTlsVersion: "TLSV1_2",
                httpsRedirect: false,
            });
            assert.strictEqual(noRedirect.servers.length, 1);
        });

        it("VirtualService: bound to the gateway and the mesh, hosts include the service", () => {
            const spec = buildVirtualServiceSpec({ ...base, hosts: ["shop.example.test"], gateway: "prod/shop" });
            assert.deepStrictEqual(spec.hosts, ["shop.example.test", HOST]);
            assert.deepStrictEqual(spec.gateways, ["prod/shop", "mesh"]);
            const edgeOnly = buildVirtualServiceSpec({
                ...base,
                hosts: ["shop.example.test"],
                gateway: "prod/shop",
                mesh: false,
            });
            assert.deepStrictEqual(edgeOnly.gateways, ["prod/shop"]);
            assert.deepStrictEqual(edgeOnly.hosts, ["shop.example.test"]);
            assert.strictEqual(spec.exportTo, undefined, "exported to every namespace unless told");
            const scoped = buildVirtualServiceSpec({
                ...base,
                hosts: ["a.example.test"],
                gateway: "prod/shop",
                exportTo: ["prod"],
            });
            assert.deepStrictEqual(scoped.exportTo, ["prod"]);
        });

        it("exportNamespaces: the app's and the gateway's namespaces, once each, and those asked for; * alone for all", () => {
            assert.deepStrictEqual(exportNamespaces("prod", "istio-ingress"), ["prod", "istio-ingress"]);
            assert.deepStrictEqual(exportNamespaces("prod", "prod", ["a", "prod"]), ["prod", "a"]);
            assert.deepStrictEqual(exportNamespaces("prod", "gw", ["a", "*"]), ["*"]);
        });

        it("selector labels never carry the version; pod labels do", () => {
            assert.deepStrictEqual(selectorLabels("shop", "canary"), { app: "shop", track: "canary" });
            assert.deepStrictEqual(podLabels("shop", "canary", "v2"), { app: "shop", track: "canary", version: "v2" });
        });
    });

    describe("canaryReplicaCount", () => {
        it("never zero while the weight is above zero, even with no stable replicas to scale from", () => {
            const opts = { stableReplicas: 0, canaryReplicas: 0, scaleWithWeight: true };
            assert.strictEqual(canaryReplicaCount({ ...opts, canaryWeight: 1 }), 1);
            assert.strictEqual(canaryReplicaCount({ ...opts, canaryWeight: 0 }), 0);
        });

        it("is fixed without scaling, but never 0 while the canary has weight", () => {
            assert.strictEqual(
                canaryReplicaCount({ stableReplicas: 10, canaryReplicas: 2, scaleWithWeight: false, canaryWeight: 50 }),
                2,
            );
            assert.strictEqual(
                canaryReplicaCount({ stableReplicas: 10, canaryReplicas: 0, scaleWithWeight: false, canaryWeight: 0 }),
                0,
            );
            assert.strictEqual(
                canaryReplicaCount({ stableReplicas: 10, canaryReplicas: 0, scaleWithWeight: false, canaryWeight: 5 }),
                1,
            );
        });

        it("matches the traffic weight when scaling, rounding up", () => {
            const at = (w: number) =>
                canaryReplicaCount({ stableReplicas: 10, canaryReplicas: 1, scaleWithWeight: true, canaryWeight: w });
            assert.deepStrictEqual([0, 5, 10, 25, 50, 100].map(at), [1, 1, 1, 3, 5, 10]);
        });

        it("property: scaled replicas are monotonic in the weight, at least the floor, >0 with weight, at most stable", () => {
            fc.assert(
                fc.property(
                    fc.integer({ min: 1, max: 50 }),
                    fc.integer({ min: 0, max: 5 }),
                    weightArb,
                    weightArb,
                    (stable, floor, a, b) => {
                        const n = (w: number) =>
                            canaryReplicaCount({
                                stableReplicas: stable,
                                canaryReplicas: floor,
                                scaleWithWeight: true,
                                canaryWeight: w,
                            });
                        const [lo, hi] = a <= b ? [a, b] : [b, a];
                        assert.ok(n(lo) <= n(hi));
                        assert.ok(n(a) >= floor);
                        if (a > 0) {
                            assert.ok(n(a) >= 1);
                        }
                        assert.ok(n(a) <= Math.max(stable, floor));
                    },
                ),
            );
        });
    });
});

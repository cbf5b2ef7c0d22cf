import * as assert from "assert";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { HTTPRoute } from "../../../components/istio-types";
import { buildHttpRoutes } from "../../../components/routing";
import { selfSignedCertificate } from "../../../stacks/automation/dev-tls";
import { kubeAccess, kubeAccessOf, KubeApi, kubeTargetOf } from "../../../stacks/automation/kube-api";
import { clusterApi } from "../../../stacks/release/kube-lease";
import { PreflightError } from "../../../stacks/release/result";
import * as fc from "fast-check";
import { buildHTTPRouteRules, HTTPRouteRule } from "../../../components/gateway-api";
import {
    describeTargets,
    KubeRouting,
    ROLLBACK_FIELD_MANAGER,
    routeAppliers,
    RouteTarget,
    stableRoutes,
    stableRules,
} from "../../../stacks/automation/routing-patch";

const HOST = "shop.prod.svc.cluster.local";
const routes = (canaryWeight: number, mirrorPercent?: number): HTTPRoute[] =>
    buildHttpRoutes({
        host: HOST,
        port: 80,
        canaryWeight,
        header: { name: "x-canary", value: "true" },
        mirrorPercent,
        timeout: "10s",
    });
/** Round trip through JSON, as the API server returns the routes. */
const live = (r: HTTPRoute[]) => JSON.parse(JSON.stringify(r)) as HTTPRoute[];

describe("stableRoutes: the routes a fast rollback applies", () => {
    it("are exactly the routes the program builds at weight 0", () => {
        for (const w of [0, 1, 10, 50, 99, 100]) {
            assert.deepStrictEqual(stableRoutes(live(routes(w))), live(routes(0)), `from weight ${w}`);
        }
    });

    it("drop session affinity (its route and the canary's Set-Cookie), as the program routes at weight 0", () => {
        const withAffinity = (canaryWeight: number) =>
            buildHttpRoutes({
                host: HOST,
                port: 80,
                canaryWeight,
                cookie: { name: "beta", value: "yes" },
                sessionAffinity: { cookieName: "canary-session", maxAgeSeconds: 60, value: "v2" },
            });
        for (const w of [1, 10, 50, 100]) {
            const from = live(withAffinity(w));
            assert.ok(
                from.some((h) => h.name === "canary-session"),
                `the route is there at ${w}`,
            );
            assert.deepStrictEqual(stableRoutes(from), live(withAffinity(0)), `from weight ${w}`);
        }
    });

    it("after the mirror phase, carry the user's own mirror (or none), as the program routes after a rollback", () => {
        assert.deepStrictEqual(stableRoutes(live(routes(0, 20)), 0), live(routes(0)));
        assert.deepStrictEqual(stableRoutes(live(routes(0, 20)), 5), live(routes(0, 5)));
        assert.deepStrictEqual(stableRoutes(live(routes(30, 5)), 5), live(routes(0, 5)));
    });

    it("refuse routes without the weighted route, or a mirror to set that is not there", () => {
        assert.throws(() => stableRoutes(live(routes(10)).slice(0, 1)), /no "weighted" route/);
        assert.throws(() => stableRoutes(live(routes(10)), 5), /has no mirror to set to 5%/);
    });
});

/** The Gateway API rules as the program builds them (components/gateway-api.ts), through JSON as the server returns them. */
const rules = (o: Partial<Parameters<typeof buildHTTPRouteRules>[0]> & { canaryWeight: number }): HTTPRouteRule[] =>
    JSON.parse(JSON.stringify(buildHTTPRouteRules({ app: "shop", port: 80, ...o }))) as HTTPRouteRule[];

describe("stableRules: the Gateway API rules a fast rollback applies", () => {
    const options = fc.record(
        {
            header: fc.constant({ name: "x-canary", value: "true" }),
            cookie: fc.constant({ name: "beta", value: "yes" }),
            sessionAffinity: fc.constant({ cookieName: "canary-session", maxAgeSeconds: 60, value: "v2" }),
            timeout: fc.constantFrom("10s", "1m30s"),
        },
        { requiredKeys: [] },
    );

    it("are exactly the rules the program builds at weight 0, whatever the options (header, cookie, affinity, timeout)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 100 }), options, (w, o) => {
                assert.deepStrictEqual(stableRules(rules({ ...o, canaryWeight: w })), rules({ ...o, canaryWeight: 0 }));
            }),
        );
    });

    it("after the mirror phase, carry the user's own mirror (or none), as the program routes after a rollback", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 100 }),
                fc.integer({ min: 1, max: 100 }),
                fc.nat(100),
                (w, phase, own) => {
                    const from = rules({ canaryWeight: w, mirrorPercent: phase });
                    assert.deepStrictEqual(stableRules(from, own), rules({ canaryWeight: 0, mirrorPercent: own }));
                    assert.deepStrictEqual(stableRules(from), rules({ canaryWeight: 0, mirrorPercent: phase }));
                },
            ),
        );
    });

    it("keep the defaults the API server adds (the rules are applied whole)", () => {
        const live = rules({ canaryWeight: 30, header: { name: "x-canary", value: "true" } }).map((r) => ({
            ...r,
            backendRefs: r.backendRefs?.map((b) => ({ group: "", kind: "Service", ...b })),
        }));
        const out = stableRules(live);
        assert.deepStrictEqual(out.at(-1)?.backendRefs, [
            { group: "", kind: "Service", name: "shop-stable", port: 80, weight: 100 },
            { group: "", kind: "Service", name: "shop-canary", port: 80, weight: 0 },
        ]);
        assert.deepStrictEqual(out[0], live[0], "the header rule as it was");
    });

    it("refuse rules without the weighted rule over both tracks, or a mirror to set that is not there", () => {
        assert.throws(
            () => stableRules(rules({ canaryWeight: 10 }).map((r) => ({ ...r, name: "other" }))),
            /^Error: no "weighted" rule with a stable and a canary backend$/,
        );
        assert.throws(
            () => stableRules([{ name: "weighted", backendRefs: [{ name: "shop-stable", port: 80, weight: 100 }] }]),
            /no "weighted" rule with a stable and a canary backend/,
        );
        assert.throws(() => stableRules(rules({ canaryWeight: 10 }), 5), /has no mirror to set to 5%/);
    });
});

describe("routeAppliers", () => {
    it("names the managers other than ours that applied the routes (spec.http, or a route's spec.rules)", () => {
        assert.deepStrictEqual(
            routeAppliers(
                [
                    { manager: "pulumi-kubernetes-1", operation: "Apply", fieldsV1: { "f:spec": { "f:rules": {} } } },
                    { manager: "pulumi-kubernetes-2", operation: "Apply", fieldsV1: { "f:spec": { "f:http": {} } } },
                ],
                "rules",
            ),
            ["pulumi-kubernetes-1"],
        );
        assert.strictEqual(
            describeTargets([
                { kind: "GRPCRoute", namespace: "prod", name: "shop" },
                { kind: "GRPCRoute", namespace: "prod", name: "shop-mesh" },
            ]),
            "GRPCRoutes prod/shop and prod/shop-mesh",
        );
    });

    it("names the managers other than ours that applied spec.http", () => {
        const http = { "f:spec": { "f:http": {} } };
        assert.deepStrictEqual(
            routeAppliers([
                { manager: "pulumi-kubernetes-1234", operation: "Apply", fieldsV1: http },
                { manager: ROLLBACK_FIELD_MANAGER, operation: "Apply", fieldsV1: http },
                { manager: "kubectl-patch", operation: "Update", fieldsV1: http },
                { manager: "other", operation: "Apply", fieldsV1: { "f:spec": { "f:hosts": {} } } },
            ]),
            ["pulumi-kubernetes-1234"],
        );
    });
});

interface Seen {
    method: string;
    url: string;
    contentType?: string;
    auth?: string;
    body?: { apiVersion: string; kind: string; metadata: object; spec?: Record<string, unknown[]> };
}

/**
 * An API server on 127.0.0.1 holding one route object (a VirtualService `prod/shop`, else the object `at`, with its
 * routes in `field`); records every request.
 */
async function fakeApiServer(
    managers: { manager: string; operation: string }[],
    routes: unknown[],
    at = { path: "/apis/networking.istio.io/v1/namespaces/prod/virtualservices/shop", field: "http" },
) {
    const tls = selfSignedCertificate(["localhost"]);
    const seen: Seen[] = [];
    const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
        let text = "";
        req.on("data", (c: Buffer) => (text += c.toString()));
        req.on("end", () => {
            seen.push({
                method: req.method!,
                url: req.url!,
                contentType: req.headers["content-type"],
                auth: req.headers.authorization,
                body: text ? JSON.parse(text) : undefined,
            });
            res.setHeader("content-type", "application/json");
            if (req.url!.split("?")[0] !== at.path) {
                res.statusCode = 404;
                res.end(JSON.stringify({ message: "virtualservices.networking.istio.io not found" }));
                return;
            }
            const fieldsV1 = { "f:spec": { [`f:${at.field}`]: {} } };
            res.end(
                JSON.stringify({
                    metadata: { managedFields: managers.map((m) => ({ ...m, fieldsV1 })) },
                    spec: { [at.field]: routes },
                }),
            );
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-kubeconfig-"));
    const kubeconfig = path.join(dir, "config");
    fs.writeFileSync(path.join(dir, "ca.crt"), tls.cert);
    fs.writeFileSync(
        kubeconfig,
        JSON.stringify({
            "current-context": "local",
            contexts: [{ name: "local", context: { cluster: "c", user: "u" } }],
            clusters: [
                {
                    name: "c",
                    cluster: {
                        server: `https://127.0.0.1:${port}`,
                        "certificate-authority": "ca.crt",
                        "tls-server-name": "localhost",
                    },
                },
            ],
            users: [{ name: "u", user: { token: "t0ken" } }],
        }),
    );
    const api = new KubeApi(kubeAccess([kubeconfig]));
    return {
        seen,
        routing: new KubeRouting(api),
        stop: () => {
            api.close();
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

describe("KubeRouting against an API server on 127.0.0.1 (kubeconfig: CA file, token, server name)", () => {
    const shop: RouteTarget = { kind: "VirtualService", namespace: "prod", name: "shop" };
    const pulumi = { manager: "pulumi-kubernetes-abc", operation: "Apply" };

    for (const kind of ["HTTPRoute", "GRPCRoute"] as const) {
        it(`a Gateway API ${kind}: applies its stable rules, whole, at its own path; refuses one Pulumi did not apply`, async () => {
            const path = `/apis/gateway.networking.k8s.io/v1/namespaces/prod/${kind.toLowerCase()}s/shop-mesh`;
            const target: RouteTarget = { kind, namespace: "prod", name: "shop-mesh" };
            const api = await fakeApiServer([pulumi], rules({ canaryWeight: 40 }), { path, field: "rules" });
            const foreign = await fakeApiServer([{ manager: "kubectl-edit", operation: "Update" }], [], {
                path,
                field: "rules",
            });
            try {
                assert.deepStrictEqual(await api.routing.routeToStable(target, 0), { changed: true });
                assert.deepStrictEqual(
                    api.seen.map((s) => [s.method, s.url]),
                    [
                        ["GET", path],
                        ["PATCH", `${path}?fieldManager=${ROLLBACK_FIELD_MANAGER}&force=true`],
                    ],
                );
                assert.deepStrictEqual(api.seen[1].body, {
                    apiVersion: "gateway.networking.k8s.io/v1",
                    kind,
                    metadata: { name: "shop-mesh", namespace: "prod" },
                    spec: { rules: rules({ canaryWeight: 0 }) },
                });
                await assert.rejects(
                    foreign.routing.routeToStable(target, 0),
                    /live routes of prod\/shop-mesh are not the ones Pulumi applied \(managers: kubectl-edit \(Update\)\)/,
                );
                assert.deepStrictEqual(
                    foreign.seen.map((s) => s.method),
                    ["GET"],
                );
            } finally {
                api.stop();
                foreign.stop();
            }
        });
    }

    it("applies the stable routes, whole, with its own field manager, forced", async () => {
        const api = await fakeApiServer([pulumi], live(routes(25)));
        try {
            assert.deepStrictEqual(await api.routing.routeToStable(shop, 0), { changed: true });
            assert.deepStrictEqual(
                api.seen.map((s) => [s.method, s.url, s.auth]),
                [
                    ["GET", "/apis/networking.istio.io/v1/namespaces/prod/virtualservices/shop", "Bearer t0ken"],
                    [
                        "PATCH",
                        `/apis/networking.istio.io/v1/namespaces/prod/virtualservices/shop?fieldManager=${ROLLBACK_FIELD_MANAGER}&force=true`,
                        "Bearer t0ken",
                    ],
                ],
            );
            assert.strictEqual(api.seen[1].contentType, "application/apply-patch+yaml");
            assert.deepStrictEqual(api.seen[1].body, {
                apiVersion: "networking.istio.io/v1",
                kind: "VirtualService",
                metadata: { name: "shop", namespace: "prod" },
                spec: { http: live(routes(0)) },
            });
        } finally {
            api.stop();
        }
    });

    it("changes nothing when the routes are already on stable (the server's key order is not ours)", async () => {
        // Every object's keys sorted, as a Go map is serialised.
        const sorted = (v: unknown): unknown =>
            JSON.parse(
                JSON.stringify(v, (_k, x: unknown) =>
                    x !== null && typeof x === "object" && !Array.isArray(x)
                        ? Object.fromEntries(Object.entries(x).sort())
                        : x,
                ),
            );
        // As the API server returns them: keys sorted (mirror before route), with the user's mirror of 5%.
        const api = await fakeApiServer([pulumi], sorted(live(routes(0, 5))) as HTTPRoute[]);
        try {
            assert.deepStrictEqual(await api.routing.routeToStable(shop, 5), { changed: false });
            assert.deepStrictEqual(
                api.seen.map((s) => s.method),
                ["GET"],
            );
        } finally {
            api.stop();
        }
    });

    it("refuses, changing nothing, when the live routes are not the ones Pulumi applied", async () => {
        const api = await fakeApiServer([{ manager: "kubectl-patch", operation: "Update" }], live(routes(25)));
        try {
            await assert.rejects(
                api.routing.routeToStable(shop, 0),
                /live routes of prod\/shop are not the ones Pulumi applied \(managers: kubectl-patch \(Update\)\)/,
            );
            assert.deepStrictEqual(
                api.seen.map((s) => s.method),
                ["GET"],
            );
        } finally {
            api.stop();
        }
    });

    it("says what the API server said when the VirtualService is missing", async () => {
        const api = await fakeApiServer([pulumi], live(routes(25)));
        try {
            await assert.rejects(
                api.routing.routeToStable({ ...shop, name: "nope" }, 0),
                /GET \/apis\/networking.istio.io\/v1\/namespaces\/prod\/virtualservices\/nope: 404 virtualservices.networking.istio.io not found/,
            );
        } finally {
            api.stop();
        }
    });

    it("releases its routes with an empty apply, only while Pulumi's apply holds them too", async () => {
        const both = await fakeApiServer([pulumi, { manager: ROLLBACK_FIELD_MANAGER, operation: "Apply" }], []);
        const oursOnly = await fakeApiServer([{ manager: ROLLBACK_FIELD_MANAGER, operation: "Apply" }], []);
        const none = await fakeApiServer([pulumi], []);
        try {
            await both.routing.handBack(shop);
            assert.deepStrictEqual(
                both.seen.map((s) => [s.method, s.body?.spec]),
                [
                    ["GET", undefined],
                    ["PATCH", undefined],
                ],
            );
            await assert.rejects(oursOnly.routing.handBack(shop), /Pulumi does not hold the routes of prod\/shop/);
            await none.routing.handBack(shop);
            assert.deepStrictEqual([oursOnly.seen.length, none.seen.length], [1, 1], "a GET each, no PATCH");
        } finally {
            [both, oursOnly, none].forEach((a) => a.stop());
        }
    });
});

describe("kubeAccess", () => {
    it("reads certificates inline, and refuses exec plugins with a clear error", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-kubeconfig-"));
        try {
            const file = path.join(dir, "config");
            const doc = (user: object) => ({
                "current-context": "x",
                contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
                clusters: [
                    {
                        name: "c",
                        cluster: {
                            server: "https://127.0.0.1:6443/",
                            "certificate-authority-data": Buffer.from("CA").toString("base64"),
                        },
                    },
                ],
                users: [{ name: "u", user }],
            });
            fs.writeFileSync(
                file,
                JSON.stringify(
                    doc({
                        "client-certificate-data": Buffer.from("CERT").toString("base64"),
                        "client-key-data": Buffer.from("KEY").toString("base64"),
                    }),
                ),
            );
            const a = kubeAccess([file]);
            assert.strictEqual(a.server, "https://127.0.0.1:6443");
            assert.deepStrictEqual(
                [a.tls.ca, a.tls.cert, a.tls.key]
                    .map((b) => (b as Buffer).toString())
                    .concat([JSON.stringify(a.headers)]),
                ["CA", "CERT", "KEY", "{}"],
            );
            fs.writeFileSync(file, JSON.stringify(doc({ exec: { command: "aws" } })));
            assert.throws(() => kubeAccess([file]), /kubeconfig user u authenticates with a plugin/);
            assert.throws(() => kubeAccess([file], "other"), /has no context other/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the cluster of a stack: kubernetes:kubeconfig and kubernetes:context, as the provider reads them", () => {
    /** A kubeconfig with one context per server. */
    const twoClusters = (servers: Record<string, string>, current: string) => ({
        "current-context": current,
        contexts: Object.keys(servers).map((name) => ({ name, context: { cluster: name, user: "u" } })),
        clusters: Object.entries(servers).map(([name, server]) => ({ name, cluster: { server } })),
        users: [{ name: "u", user: { token: "t" } }],
    });

    it("reads the keys from the stack config; empty or absent ones leave the ambient kubeconfig", () => {
        assert.deepStrictEqual(
            kubeTargetOf({ "kubernetes:kubeconfig": "east.yaml", "kubernetes:context": "east", "shop:app": "x" }),
            { kubeconfig: "east.yaml", context: "east" },
        );
        assert.deepStrictEqual(kubeTargetOf({ "kubernetes:kubeconfig": "", "shop:kubeconfig": "no" }), {});
    });

    it("a path (relative to the project), the kubeconfig itself, or a context of the ambient one: each names its server", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-kubetarget-"));
        try {
            const servers = { east: "https://127.0.0.1:26443", west: "https://127.0.0.1:26444" };
            fs.writeFileSync(path.join(dir, "west.yaml"), JSON.stringify(twoClusters(servers, "west")));
            fs.writeFileSync(path.join(dir, "ambient.yaml"), JSON.stringify(twoClusters(servers, "east")));
            const env = { KUBECONFIG: path.join(dir, "ambient.yaml") };
            assert.strictEqual(kubeAccessOf({}, dir, env).server, servers.east);
            assert.strictEqual(kubeAccessOf({ context: "west" }, dir, env).server, servers.west);
            assert.strictEqual(kubeAccessOf({ kubeconfig: "west.yaml" }, dir, env).server, servers.west);
            assert.strictEqual(
                kubeAccessOf({ kubeconfig: "west.yaml", context: "east" }, dir, env).server,
                servers.east,
            );
            const inline = JSON.stringify(twoClusters(servers, "west"), null, 2);
            assert.strictEqual(kubeAccessOf({ kubeconfig: inline }, "/nonexistent", env).server, servers.west);
            assert.throws(() => kubeAccessOf({ kubeconfig: "gone.yaml" }, dir, env), {
                message: `the stack's kubernetes:kubeconfig names ${path.join(dir, "gone.yaml")}, which does not exist`,
            });
            assert.throws(() => kubeAccessOf({ kubeconfig: inline, context: "north" }, dir, env), {
                message: "the stack's kubernetes:kubeconfig has no context north",
            });
            assert.throws(
                () => clusterApi({ kubeconfig: "gone.yaml" }, dir),
                (e: Error) => {
                    assert.ok(e instanceof PreflightError);
                    assert.match(
                        e.message,
                        /cannot be reached from the kubeconfig \(the stack's kubernetes:kubeconfig names .*gone\.yaml, which does not exist\); fix the stack's kubernetes:kubeconfig\. Nothing was started$/,
                    );
                    return true;
                },
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

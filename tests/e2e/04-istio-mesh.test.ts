/**
 * Istio in the loop: the local istiod (scripts/cluster/up.sh) validates and programs every object of a live stack,
 * and real requests prove the split.
 *
 *  - istiod's validation webhook refuses what only Istio's own validation catches (two destinations of weight 0);
 *  - `istioctl analyze` reports no warning or error after each `up` (sidecars injected, the gateway's too), and
 *    the loopback guard passes;
 *  - the ingress gateway's routes, as istiod serves them to the gateway's identity over xDS, carry the stack's
 *    canaryWeight, with the header and cookie matches first;
 *  - the app's PeerAuthentication (STRICT) and AuthorizationPolicy, as istiod serves them to a proxyless gRPC server
 *    in an app pod (its inbound listener over xDS): mutual TLS required and an ALLOW RBAC filter naming exactly the
 *    gateway's and the test client's identities; no RBAC once both are turned off (the chain stays mutual TLS: the
 *    pods are injected, so PERMISSIVE is mutual TLS to them). The test's
 *    backends do not ask istiod for that listener (they serve mutual TLS with istiod's CA themselves), so the RBAC
 *    filter is proved served, not enforced;
 *  - a proxyless gRPC client routed by istiod over xDS, with mutual TLS as the ISTIO_MUTUAL DestinationRule asks,
 *    sends real requests to one backend process per pod: the measured canary share is inside the 99.9% binomial
 *    interval at 10 and 50, none at 0 and after a rollback, all at 100 and with the canary header or cookie;
 *  - session affinity: while the canary has weight, istiod gives the gateway the canary's Set-Cookie (Envoy adds it
 *    to the canary's responses) and a route for its holders; requests carrying that cookie all reach the canary at
 *    10, 50 and 100, and none at 0 or after a rollback (the proxyless client cannot apply the response header
 *    itself, so it sends the cookie istiod's rule gives);
 *  - the backends' outcomes reach a real Prometheus under Istio's standard metric names;
 *  - xDS propagation (end of `up` to the first request routed by the new weights), median of 5.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { baseConfig, E2EStack, gatewayRoutesAt, kubectl, live, meshWithClient } from "./harness";
import { LocalPrometheus } from "./prometheus";
import { istioctlAnalyze, loopbackGuard } from "../../scripts/mesh/istio-checks";
import { BatchResult, Mesh, MeshClient, share } from "../../scripts/mesh/mesh";
import { measureShift, medianPropagation, Propagation } from "../../scripts/mesh/propagation";
import { binomialInterval } from "../../scripts/mesh/stats";
import { canaryPercent } from "../../scripts/mesh/xds";
import { grpcServerNode, InboundChain, inboundSecurity } from "../../scripts/mesh/xds-inbound";
import { principalOf, spiffeId } from "../../scripts/mesh/certs";
import { successRateQuery } from "../../components/promql";

const NS = "shop-mesh";
const HOST = "shop.mesh.example.test";
const N = 2000;

/** Asserts that `count` of `n` requests is a plausible draw at canary weight `weight`. */
function assertBinomial(count: number, n: number, weight: number, what: string): void {
    const [lo, hi] = binomialInterval(n, weight / 100, 0.999);
    assert.ok(
        count >= lo && count <= hi,
        `${what}: ${count} of ${n} reached the canary; the 99.9% interval at ${weight}% is [${lo}, ${hi}]`,
    );
}

function assertNoErrors(r: BatchResult, what: string): void {
    assert.deepStrictEqual(r.errors, {}, `${what}: failed requests`);
    assert.strictEqual(r.ok, r.n, `${what}: all requests answered`);
}

describe("e2e: Istio in the loop (istiod, webhook, xDS, real requests)", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let mesh: Mesh;
    let client: MeshClient;
    const report: string[] = [];
    const clientIdentity = spiffeId(NS, "mesh-client");

    /** Sets config and runs `up` (the harness then runs the loopback guard and istioctl analyze). */
    async function upAndCheck(config: Record<string, string | undefined>): Promise<void> {
        await stack.set(config);
        await stack.up();
    }

    /** Waits until the client's requests follow the new route (a batch shows the expected extreme), then counts. */
    async function settled(expectCanary: "none" | "all" | "some"): Promise<void> {
        const deadline = Date.now() + 20_000;
        for (;;) {
            const r = await client.batch(50);
            const c = r.byTrack.canary ?? 0;
            if (
                (expectCanary === "none" && c === 0) ||
                (expectCanary === "all" && c === r.ok && r.ok > 0) ||
                expectCanary === "some"
            ) {
                return;
            }
            if (Date.now() > deadline) {
                assert.fail(
                    `the client's requests never followed the new routes (${expectCanary}): ${JSON.stringify(r)}`,
                );
            }
            await new Promise((res) => setTimeout(res, 100));
        }
    }

    before(async () => {
        for (const v of ["ISTIOD_XDS_SOCKET", "ISTIOCTL", "ISTIO_CA_DIR", "ISTIO_CA_BUNDLE"]) {
            assert.ok(process.env[v], `${v} is not set: the cluster must be started by scripts/cluster/up.sh (istiod)`);
        }
        stack = await E2EStack.create(
            "e2e-istio",
            baseConfig(NS, {
                hosts: HOST,
                protocol: "grpc",
                canaryHeader: "x-canary",
                canaryCookie: "canary=always",
                sessionAffinity: "canary-session",
                sessionAffinityMaxAge: "600",
                canaryImage: "registry.example.test/shop:2.0.0",
                canaryVersion: "v2",
            }),
        );
        const t0 = Date.now();
        await upAndCheck({});
        report.push(`first up (Istio + app): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        ({ mesh, client } = await meshWithClient(NS));
    });

    after(async () => {
        try {
            await mesh?.stop();
        } finally {
            await stack?.destroyAndRemove();
            console.log(`      mesh report:\n${report.map((l) => `        ${l}`).join("\n")}`);
            if (process.env.MESH_REPORT) {
                fs.writeFileSync(process.env.MESH_REPORT, report.join("\n") + "\n");
            }
        }
    });

    it("istiod's webhook refuses a route whose two destinations both weigh 0 (the CRD schema accepts it)", () => {
        const vs = (w: [number, number]) =>
            JSON.stringify({
                apiVersion: "networking.istio.io/v1",
                kind: "VirtualService",
                metadata: { name: "zero-weights", namespace: NS },
                spec: {
                    hosts: [`shop.${NS}.svc.cluster.local`],
                    http: [
                        {
                            route: [
                                {
                                    destination: { host: `shop.${NS}.svc.cluster.local`, subset: "stable" },
                                    weight: w[0],
                                },
                                {
                                    destination: { host: `shop.${NS}.svc.cluster.local`, subset: "canary" },
                                    weight: w[1],
                                },
                            ],
                        },
                    ],
                },
            });
        const create = (body: string, dryRun: boolean) =>
            execFileSync(process.env.KUBECTL!, ["create", ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"], {
                input: body,
                encoding: "utf8",
                stdio: ["pipe", "pipe", "pipe"],
            });
        // Same shape, weights 0/100: the API server (schema and webhook) accepts it.
        assert.match(create(vs([0, 100]), true), /created \(server dry run\)/);
        let err = "";
        try {
            create(vs([0, 0]), false);
        } catch (e) {
            err = String((e as { stderr?: string }).stderr ?? e);
        }
        assert.match(err, /admission webhook "[a-z.]*validation\.istio\.io" denied the request/, err);
        assert.match(err, /total destination weight = 0/, err);
        assert.strictEqual(
            live("virtualservices.networking.istio.io", NS, "zero-weights"),
            undefined,
            "nothing stored",
        );
        // Both webhook configurations call istiod on loopback, with istiod's root as the CA bundle.
        const hooks = JSON.parse(kubectl(["get", "validatingwebhookconfigurations", "-o", "json"])).items as {
            metadata: { name: string };
            webhooks: { clientConfig: { url?: string; service?: unknown; caBundle?: string } }[];
        }[];
        assert.deepStrictEqual(hooks.map((h) => h.metadata.name).sort(), [
            "istio-validator-istio-system",
            "istiod-default-validator",
        ]);
        for (const h of hooks) {
            for (const w of h.webhooks) {
                assert.strictEqual(w.clientConfig.url, "https://localhost:15017/validate", h.metadata.name);
                assert.strictEqual(w.clientConfig.service, undefined, h.metadata.name);
                assert.strictEqual(w.clientConfig.caBundle, process.env.ISTIO_CA_BUNDLE, h.metadata.name);
            }
        }
    });

    /** Polls what istiod serves a proxyless gRPC server in the first `track` pod until `ok` holds. */
    async function inboundOf(track: string, ok: (chains: InboundChain[]) => boolean): Promise<InboundChain[]> {
        const pod = JSON.parse(kubectl(["get", "pods", "-n", NS, "-l", `app=shop,track=${track}`, "-o", "json"]))
            .items[0];
        assert.ok(pod?.status?.podIP, `a ${track} pod with an IP`);
        const node = grpcServerNode({
            name: pod.metadata.name,
            namespace: NS,
            ip: pod.status.podIP,
            labels: pod.metadata.labels,
            serviceAccount: pod.spec.serviceAccountName,
        });
        const deadline = Date.now() + 20_000;
        for (;;) {
            // istiod may not know the pod's Service yet (no listener): asked again until the deadline.
            let last: string;
            try {
                const chains = await inboundSecurity(
                    `unix://${process.env.ISTIOD_XDS_SOCKET}`,
                    node,
                    pod.status.podIP,
                    8080,
                );
                if (ok(chains)) {
                    return chains;
                }
                last = JSON.stringify(chains);
            } catch (e) {
                last = (e as Error).message;
            }
            if (Date.now() > deadline) {
                assert.fail(`istiod's inbound listener for ${pod.metadata.name} never settled: ${last}`);
            }
            await new Promise((r) => setTimeout(r, 250));
        }
    }

    it("STRICT and the AuthorizationPolicy as istiod serves them to a proxyless gRPC server: mutual TLS, RBAC of exactly the gateway and the client", async () => {
        const allowed = ["spiffe://cluster.local/ns/istio-ingress/sa/istio-ingressgateway", clientIdentity].sort();
        const strict = (chains: InboundChain[]) => chains.length === 1 && chains[0].name === "inbound-mtls";
        for (const track of ["stable", "canary"]) {
            const chains = await inboundOf(track, strict);
            assert.deepStrictEqual(chains, [
                {
                    name: "inbound-mtls",
                    requireClientCertificate: true,
                    rbac: [{ action: "ALLOW", policies: [`${NS}-shop-0`], principals: allowed }],
                },
            ]);
        }
        report.push(`inbound listener (proxyless gRPC server): inbound-mtls, RBAC ALLOW ${allowed.join(", ")}`);
        // Both off: no RBAC. The chain stays mutual TLS: the pods are injected, and the injector's label
        // security.istio.io/tlsMode=istio tells clients to use mutual TLS automatically, so istiod serves PERMISSIVE
        // to a proxyless gRPC server (which has no permissive mode) as STRICT (grpcgen/lds.go); without injection it
        // served plaintext here. Then back on.
        const stablePod = JSON.parse(kubectl(["get", "pods", "-n", NS, "-l", "app=shop,track=stable", "-o", "json"]))
            .items[0];
        assert.strictEqual(stablePod.metadata.labels["security.istio.io/tlsMode"], "istio");
        await upAndCheck({ peerAuthentication: "false", authorizationPolicy: "false" });
        assert.deepStrictEqual(await inboundOf("stable", (c) => c.length === 1 && c[0].rbac.length === 0), [
            { name: "inbound-mtls", requireClientCertificate: true, rbac: [] },
        ]);
        await upAndCheck({ peerAuthentication: undefined, authorizationPolicy: undefined });
        assert.strictEqual((await inboundOf("stable", strict))[0].rbac[0].principals.length, 2);
    });

    it("real requests succeed with STRICT on: over mutual TLS, from the identity the AuthorizationPolicy lists", async () => {
        assert.strictEqual(live("peerauthentications.security.istio.io", NS, "shop")!.spec.mtls.mode, "STRICT");
        const principals = live("authorizationpolicies.security.istio.io", NS, "shop")!.spec.rules[0].from[0].source
            .principals as string[];
        assert.ok(principals.includes(principalOf(clientIdentity)), JSON.stringify(principals));
        const r = await client.batch(200, { concurrency: 16 });
        assertNoErrors(r, "with STRICT and the AuthorizationPolicy");
        assert.deepStrictEqual(r.peers, [clientIdentity]);
    });

    it("istioctl analyze: no warning or error (sidecars injected, the gateway's too); the loopback guard passes", async () => {
        const a = await istioctlAnalyze([NS]);
        assert.deepStrictEqual([...a.unexpected, ...a.expected], []);
        report.push(`istioctl analyze: no warning or error, ${a.info.length} info`);
        assert.match(await loopbackGuard(), /ok: /);
    });

    for (const weight of [0, 10, 50, 100]) {
        it(`canaryWeight ${weight}: the gateway's routes from istiod and real requests follow it`, async () => {
            if (weight !== 0) {
                await upAndCheck({ canaryWeight: String(weight) });
            }
            const routes = await gatewayRoutesAt(HOST, weight);
            // Session affinity exists while the canary has weight: its cookie route, and the canary's Set-Cookie.
            const affinity = weight > 0;
            assert.deepStrictEqual(
                routes.map((r) => r.name),
                ["canary-header", "canary-cookie", ...(affinity ? ["canary-session"] : []), "weighted"],
                "header, cookie and session matches come before the weighted route",
            );
            assert.deepStrictEqual(routes[0].headers, [["x-canary", "exact:true"]]);
            assert.strictEqual(routes[1].headers[0][0], "cookie");
            assert.ok(routes[1].headers[0][1].startsWith("regex:"), JSON.stringify(routes[1]));
            const matches = routes.slice(0, -1);
            for (const r of matches) {
                assert.strictEqual(canaryPercent(r), 100, `${r.name} sends everything to the canary`);
            }
            const weighted = routes.at(-1)!;
            const clusters = weighted.clusters.map((c) => c.name.split("|")[2]).sort();
            assert.ok(
                clusters.every((s) => s === "stable" || s === "canary"),
                JSON.stringify(weighted),
            );
            // What Envoy at the gateway would add to the canary's responses, as istiod serves it (the proxyless
            // gRPC client applies no response header rule, so the test sends the cookie this gives).
            const setCookie = (track: string) =>
                weighted.clusters
                    .filter((c) => c.name.split("|")[2] === track)
                    .flatMap((c) => c.responseHeaders ?? [])
                    .filter(([k]) => k.toLowerCase() === "set-cookie")
                    .map(([, v]) => v);
            assert.deepStrictEqual(setCookie("stable"), [], "stable's responses set no cookie");
            assert.deepStrictEqual(
                setCookie("canary"),
                affinity ? ["canary-session=v2; Max-Age=600; Path=/"] : [],
                JSON.stringify(weighted),
            );

            await settled(weight === 0 ? "none" : weight === 100 ? "all" : "some");
            const n = weight === 10 || weight === 50 ? N : 500;
            const r = await client.batch(n, { concurrency: 16 });
            assertNoErrors(r, `weight ${weight}`);
            const canary = r.byTrack.canary ?? 0;
            report.push(
                `weight ${weight}: ${n} requests -> stable ${r.byTrack.stable ?? 0} / canary ${canary} ` +
                    `(${(100 * share(r, "canary")).toFixed(1)}%), ${(n / (r.elapsedMs / 1000)).toFixed(0)} req/s`,
            );
            if (weight === 0) {
                assert.strictEqual(canary, 0);
            } else if (weight === 100) {
                assert.strictEqual(canary, n);
            } else {
                assertBinomial(canary, n, weight, `weight ${weight}`);
            }
            // Each track is served by its own version, by every pod of the track; mutual TLS with the client's identity.
            assert.deepStrictEqual(
                Object.keys(r.byTrackVersion).sort(),
                [...(weight < 100 ? ["stable/v1"] : []), ...(weight > 0 ? ["canary/v2"] : [])].sort(),
            );
            assert.deepStrictEqual(r.peers, [clientIdentity]);
            if (weight > 0 && weight < 100) {
                const stablePods = mesh
                    .list()
                    .filter((b) => b.track === "stable")
                    .map((b) => b.pod);
                for (const p of stablePods) {
                    assert.ok((r.byPod[p] ?? 0) > 0, `stable pod ${p} served requests: ${JSON.stringify(r.byPod)}`);
                }
            }
            // Header and cookie requests all reach the canary, whatever the weight.
            const header = await client.batch(200, { metadata: { "x-canary": "true" } });
            assertNoErrors(header, "header");
            assert.strictEqual(header.byTrack.canary, 200, JSON.stringify(header.byTrack));
            const cookie = await client.batch(200, { metadata: { cookie: "session=abc; canary=always; theme=dark" } });
            assertNoErrors(cookie, "cookie");
            assert.strictEqual(cookie.byTrack.canary, 200, JSON.stringify(cookie.byTrack));
            const wrongCookie = await client.batch(100, { metadata: { cookie: "canary=never" } });
            if (weight === 0) {
                assert.strictEqual(wrongCookie.byTrack.canary ?? 0, 0, "another cookie value does not match");
            }
            // A user given the session cookie by the canary stays on it at every weight above 0 (and at 0 is on stable).
            const session = await client.batch(200, { metadata: { cookie: "theme=dark; canary-session=v2" } });
            assertNoErrors(session, "session cookie");
            assert.strictEqual(session.byTrack.canary ?? 0, weight > 0 ? 200 : 0, JSON.stringify(session.byTrack));
            report.push(
                `weight ${weight}: 200 requests with the session cookie -> canary ${session.byTrack.canary ?? 0}`,
            );
        });
    }

    it("rollback: after an up to weight 0 no request reaches the canary", async () => {
        await upAndCheck({ canaryWeight: "10" });
        await gatewayRoutesAt(HOST, 10);
        await client.startLoad(200);
        const t0 = Date.now();
        await upAndCheck({ canaryWeight: "0" });
        const tEnd = Date.now();
        await new Promise((r) => setTimeout(r, 2000));
        await client.stopLoad();
        const events = await client.events(t0);
        const lastCanary = Math.max(0, ...events.filter((e) => e[1] === "canary").map((e) => e[0]));
        report.push(
            `rollback 10 -> 0: last canary request ${lastCanary === 0 ? "before the up" : `${lastCanary - tEnd} ms after the end of the up`}`,
        );
        assert.ok(lastCanary < tEnd + 2000, `canary requests went on ${lastCanary - tEnd} ms after the rollback up`);
        const r = await client.batch(N, { concurrency: 16 });
        assertNoErrors(r, "after rollback");
        assert.strictEqual(r.byTrack.canary ?? 0, 0, JSON.stringify(r.byTrack));
        report.push(`after rollback: ${N} requests -> stable ${r.byTrack.stable} / canary 0`);
        // Holders of the session cookie the canary gave at weight 10 are back on stable at once.
        const session = await client.batch(200, { metadata: { cookie: "canary-session=v2" } });
        assertNoErrors(session, "session cookie after rollback");
        assert.strictEqual(session.byTrack.canary ?? 0, 0, JSON.stringify(session.byTrack));
        report.push(`after rollback: 200 requests with the session cookie -> stable ${session.byTrack.stable}`);
    });

    it("the backends' outcomes reach Prometheus under Istio's standard metrics", async () => {
        const prometheus = new LocalPrometheus();
        try {
            await prometheus.start(await mesh.startMetricsExporter());
            // No retries: Istio's default policy retries a 503 twice within the same subset, so a failing canary
            // would get more attempts (each one a sample in istio_requests_total) than its share of requests.
            await upAndCheck({ canaryWeight: "50", retryAttempts: "0" });
            await gatewayRoutesAt(HOST, 50);
            await mesh.setBehaviour("v2", { errorRate: 0.3, latencyMs: 5 });
            const query = async (q: string, at?: number) => {
                const t = at === undefined ? "" : `&time=${at / 1000}`;
                const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}${t}`);
                const body = (await res.json()) as {
                    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
                };
                return body.data.result;
            };
            const count = async (workload: string, code: string, at: number) =>
                Number(
                    (
                        await query(
                            `sum(istio_requests_total{reporter="destination",destination_workload="${workload}",destination_workload_namespace="${NS}",response_code="${code}"}) or vector(0)`,
                            at,
                        )
                    )[0]?.value[1] ?? 0,
                );
            // Counters before and after 8 s of load: the difference is this test's traffic only.
            await new Promise((r) => setTimeout(r, 2500));
            const t0 = Date.now();
            await client.startLoad(100);
            await new Promise((r) => setTimeout(r, 8000));
            await client.stopLoad();
            await new Promise((r) => setTimeout(r, 2500));
            const t1 = Date.now();
            const delta = async (workload: string, code: string) =>
                (await count(workload, code, t1)) - (await count(workload, code, t0));
            const canaryOk = await delta("shop-canary", "200");
            const canary503 = await delta("shop-canary", "503");
            const stable503 = await delta("shop-stable", "503");
            const stableOk = await delta("shop-stable", "200");
            const canaryTotal = canaryOk + canary503;
            assert.ok(canaryTotal > 200, `canary requests recorded: ${canaryTotal}`);
            assertBinomial(canary503, canaryTotal, 30, "canary 503s");
            assertBinomial(
                canaryTotal,
                canaryTotal + stableOk + stable503,
                50,
                "canary share of the recorded requests",
            );
            assert.strictEqual(stable503, 0);
            const rate = await query(successRateQuery({ namespace: NS, workload: "shop-canary", interval: "10s" }), t1);
            const successRate = Number(rate[0]?.value[1]);
            assert.ok(successRate > 55 && successRate < 85, `canary success rate ${successRate}`);
            const series = await query(`istio_requests_total{destination_workload="shop-canary"}`);
            const labels = series[0].metric;
            for (const [k, v] of Object.entries({
                reporter: "destination",
                destination_workload_namespace: NS,
                destination_version: "v2",
                destination_service: `shop.${NS}.svc.cluster.local`,
                source_principal: clientIdentity,
                connection_security_policy: "mutual_tls",
                request_protocol: "grpc",
            })) {
                assert.strictEqual(labels[k], v, `label ${k}`);
            }
            report.push(
                `Prometheus at weight 50, canary failing 30%: canary ${canaryOk} ok / ${canary503} 503 (success rate ${successRate.toFixed(1)}%)`,
            );
        } finally {
            await mesh.setBehaviour("v2", { errorRate: 0, latencyMs: 0 });
            await prometheus.stop();
        }
    });

    it("xDS propagation: end of up to the first request routed by the new weights, median of 5", async () => {
        await upAndCheck({ canaryWeight: "0" });
        await settled("none");
        const runs: Propagation[] = [];
        let weight = 0;
        for (let i = 0; i < 5; i++) {
            weight = weight === 0 ? 100 : 0;
            const w = weight;
            runs.push(
                await measureShift({
                    client,
                    up: () => stack.set({ canaryWeight: String(w) }).then(() => stack.up()),
                    toTrack: w === 100 ? "canary" : "stable",
                    namespace: NS,
                    virtualService: "shop",
                }),
            );
        }
        const m = medianPropagation(runs);
        report.push(
            `xDS propagation (5 shifts 0 <-> 100): median up ${m.upMs} ms; end of up -> first routed request ${m.upEndToRoutedMs} ms; ` +
                `VirtualService write -> first routed request ${m.writeToRoutedMs} ms (runs: ${runs.map((r) => r.writeToRoutedMs).join(", ")})`,
        );
        assert.ok(m.writeToRoutedMs >= 0 && m.writeToRoutedMs < 5000, JSON.stringify(runs));
        assert.ok(m.upEndToRoutedMs < 5000, JSON.stringify(runs));
        for (const r of runs) {
            assert.strictEqual(r.errors, 0, `no failed requests while shifting: ${JSON.stringify(r)}`);
        }
    });

    it("leaves no backend errors behind", () => {
        assert.deepStrictEqual(mesh.errors, []);
    });
});

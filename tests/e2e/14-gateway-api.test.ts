/**
 * The `gateway-api` routing mode with Istio in the loop: a stack routed with the Kubernetes Gateway API (the
 * standard channel's CRDs from the sigs.k8s.io/gateway-api module, installed by the suite's shared IstioMesh through
 * `gatewayApiCrdsDir`) deploys on the local cluster; istiod accepts its Gateway and routes (their status, written by
 * istiod), `istioctl analyze` stays clean (the harness's check after every `up`), the ingress gateway's routes as
 * istiod serves them over xDS carry the weights, and a proxyless gRPC client in the mesh, routed by istiod from the
 * GRPCRoute whose parent is the app's Service (GAMMA), sends real requests that split as the weights say (the same
 * 99.9% binomial check as the `istio` mode's e2e 04). Then the release bot (the CLI, as e2e 02 runs it, judged by a
 * real Prometheus on the client's continuous load) completes a healthy release and rolls back a failing one, whose
 * fast rollback patches both routes (external and mesh) at once.
 */
import * as assert from "assert";
import { E2EStack, gatewayRoutesAt, kubectl, live, releaseCli, tearDownMesh } from "./harness";
import { ReleaseMeshParts, startReleaseMesh } from "./release-mesh";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";
import { ROLLBACK_FIELD_MANAGER } from "../../stacks/automation/routing-patch";
import { binomialInterval } from "../../scripts/mesh/stats";
import { RouteView } from "../../scripts/mesh/xds";

const NS = "shop-gwapi";
const HOST = "shop.gwapi.example.test";
const N = 2000;
const GW = "gateway.networking.k8s.io";

/** Percentage of a route's weight on the canary's own Service (the Gateway API has no subsets). */
function canaryShare(route: RouteView): number {
    const total = route.clusters.reduce((s, c) => s + c.weight, 0);
    const canary = route.clusters
        .filter((c) => c.name.includes(`|shop-canary.${NS}.`))
        .reduce((s, c) => s + c.weight, 0);
    return total === 0 ? 0 : (100 * canary) / total;
}

/** The status conditions of `kind`/`name` that istiod wrote, as "Type=Status" (for a route: per parent). */
function conditions(kind: string, namespace: string, name: string): string[] {
    const obj = live<{ status?: Record<string, unknown> }>(`${kind}.${GW}`, namespace, name);
    const status = (obj?.status ?? {}) as {
        conditions?: { type: string; status: string }[];
        parents?: { parentRef: { kind?: string; name: string }; conditions: { type: string; status: string }[] }[];
    };
    if (status.parents !== undefined) {
        return status.parents.flatMap((p) =>
            p.conditions.map((c) => `${p.parentRef.kind ?? "Gateway"}/${p.parentRef.name}: ${c.type}=${c.status}`),
        );
    }
    return (status.conditions ?? []).map((c) => `${c.type}=${c.status}`);
}

/** The weighted rule's backends of a live route, and their weights: [["shop-stable", 100], ["shop-canary", 0]]. */
function routeWeights(name: string): [string, number][] {
    const route = live<{ spec: { rules: { name?: string; backendRefs: { name: string; weight: number }[] }[] } }>(
        `grpcroutes.${GW}`,
        NS,
        name,
    )!;
    return route.spec.rules.find((r) => r.name === "weighted")!.backendRefs.map((b) => [b.name, b.weight]);
}

/** Field managers of a live route. */
function managers(name: string): string[] {
    const args = ["get", `grpcroutes.${GW}`, "-n", NS, name, "-o", "json", "--show-managed-fields"];
    return (
        JSON.parse(kubectl(args)) as { metadata: { managedFields: { manager: string }[] } }
    ).metadata.managedFields.map((m) => m.manager);
}

describe("e2e: the gateway-api routing mode (istiod, xDS, real requests, the release bot)", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let mesh: Mesh;
    let client: MeshClient;
    let reportDir: string;
    const parts: ReleaseMeshParts = {};

    /** Sends batches until the client follows the new routes, then N requests; the canary's count. */
    async function measure(weight: number): Promise<number> {
        const deadline = Date.now() + 30_000;
        for (;;) {
            const r = await client.batch(50);
            const c = r.byTrack.canary ?? 0;
            if ((weight === 0 && c === 0) || (weight > 0 && c > 0)) {
                break;
            }
            if (Date.now() > deadline) {
                assert.fail(`the client's requests never followed canary ${weight}%: ${JSON.stringify(r)}`);
            }
            await new Promise((res) => setTimeout(res, 100));
        }
        const r = await client.batch(N);
        assert.deepStrictEqual(r.errors, {}, "failed requests");
        assert.strictEqual(r.ok, N, "all requests answered");
        const canary = r.byTrack.canary ?? 0;
        console.log(`      weight ${weight}: ${N} requests -> canary ${canary}, stable ${r.byTrack.stable ?? 0}`);
        return canary;
    }

    before(async () => {
        ({ mesh, stack, client, reportDir } = await startReleaseMesh(parts, {
            namespace: NS,
            label: "gwapi",
            stackName: "e2e-gwapi",
            rps: 40,
            config: {
                hosts: HOST,
                routingApi: "gateway-api",
                releaseSteps: "30,100",
                sessionAffinity: "canary-session",
                sessionAffinityMaxAge: "600",
            },
        }));
    });

    after(() => tearDownMesh({ first: () => parts.client?.stopLoad() ?? Promise.resolve(), ...parts }));

    /** Runs the release bot's CLI for shop:`image` as `version`; fails unless it exits with `code`. */
    async function release(image: string, version: string, code: number) {
        const r = await releaseCli(stack, reportDir, [
            "--image",
            `registry.example.test/shop:${image}`,
            "--version",
            version,
        ]);
        const errors = () =>
            JSON.stringify(
                r.report.events.filter((e) => e.kind === "error"),
                null,
                1,
            );
        assert.strictEqual(r.code, code, `${r.out}\n${errors()}`);
        return { report: r.report, errors };
    }

    /** Where requests go once the release ended: `n` requests after a first batch shows no canary. */
    async function afterRelease(n = 1000): Promise<Record<string, number>> {
        const deadline = Date.now() + 20_000;
        while ((await client.batch(50)).byTrack.canary !== undefined) {
            assert.ok(Date.now() < deadline, "requests still reach the canary 20 s after the release ended");
        }
        const r = await client.batch(n, { concurrency: 16 });
        assert.deepStrictEqual(r.errors, {}, "no failed requests");
        return r.byTrackVersion;
    }

    it("istiod accepts the Gateway (bound to the existing ingress gateway) and both GRPCRoutes; no VirtualService exists", async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
            const gateway = conditions("gateways", "istio-ingress", `${NS}-shop`);
            const external = conditions("grpcroutes", NS, "shop");
            const meshRoute = conditions("grpcroutes", NS, "shop-mesh");
            const ok =
                gateway.includes("Accepted=True") &&
                gateway.includes("Programmed=True") &&
                external.includes(`Gateway/${NS}-shop: Accepted=True`) &&
                external.includes(`Gateway/${NS}-shop: ResolvedRefs=True`) &&
                meshRoute.includes("Service/shop: Accepted=True") &&
                meshRoute.includes("Service/shop: ResolvedRefs=True");
            if (ok) {
                break;
            }
            if (Date.now() > deadline) {
                assert.fail(
                    `istiod's status: gateway ${gateway.join()}; route ${external.join()}; mesh route ${meshRoute.join()}`,
                );
            }
            await new Promise((r) => setTimeout(r, 500));
        }
        assert.deepStrictEqual(
            JSON.parse(kubectl(["get", "virtualservices.networking.istio.io", "-n", NS, "-o", "json"])).items,
            [],
        );
        // One DestinationRule per track's Service (Istio's mutual TLS), no subsets.
        const rules = JSON.parse(kubectl(["get", "destinationrules.networking.istio.io", "-n", NS, "-o", "json"]))
            .items as {
            metadata: { name: string };
            spec: { host: string; subsets?: unknown };
        }[];
        assert.deepStrictEqual(rules.map((d) => [d.metadata.name, d.spec.host, d.spec.subsets]).sort(), [
            ["shop-canary", `shop-canary.${NS}.svc.cluster.local`, undefined],
            ["shop-stable", `shop-stable.${NS}.svc.cluster.local`, undefined],
        ]);
        // istiod deployed nothing for the Gateway: it is bound to the mesh's ingress gateway by its Service's host.
        assert.strictEqual(live("deployment", "istio-ingress", `${NS}-shop-istio`), undefined);
    });

    it("at weight 0 no request reaches the canary; at 30 the split is binomial, in the gateway's routes and in the mesh", async () => {
        await gatewayRoutesAt(HOST, 0, canaryShare);
        assert.strictEqual(await measure(0), 0);

        await stack.set({ canaryImage: "registry.example.test/shop:1.5.0", canaryVersion: "v1.5", canaryWeight: "30" });
        await stack.up();
        const routes = await gatewayRoutesAt(HOST, 30, canaryShare);
        // Session affinity while the canary has weight: a rule for the cookie's holders, and the canary backend's
        // Set-Cookie (istiod gives it to the gateway's Envoy; the proxyless client applies no response header).
        assert.deepStrictEqual(
            routes.map((r) => r.name),
            ["canary-session", "weighted"],
        );
        assert.strictEqual(canaryShare(routes[0]), 100);
        const setCookie = routes
            .at(-1)!
            .clusters.filter((c) => c.name.includes(`|shop-canary.${NS}.`))
            .flatMap((c) => c.responseHeaders ?? [])
            .filter(([k]) => k.toLowerCase() === "set-cookie")
            .map(([, v]) => v);
        assert.deepStrictEqual(setCookie, ["canary-session=v1.5; Max-Age=600; Path=/"], JSON.stringify(routes));
        const canary = await measure(30);
        const [lo, hi] = binomialInterval(N, 0.3, 0.999);
        assert.ok(
            canary >= lo && canary <= hi,
            `${canary} of ${N} reached the canary; the 99.9% interval at 30% is [${lo}, ${hi}]`,
        );

        // The cookie's holders (the cookie the canary's Set-Cookie gives) stay on the canary, every request.
        const holders = await client.batch(200, { metadata: { cookie: "theme=dark; canary-session=v1.5" } });
        assert.strictEqual(holders.byTrack.canary, 200, JSON.stringify(holders.byTrack));
        console.log(`      weight 30, with the affinity cookie: 200 requests -> canary ${holders.byTrack.canary}`);

        // A rollback is an up to weight 0: the canary gets nothing again, the cookie's holders included.
        await stack.set({ canaryWeight: "0" });
        await stack.up();
        const after = await gatewayRoutesAt(HOST, 0, canaryShare);
        assert.deepStrictEqual(
            after.map((r) => r.name),
            ["weighted"],
        );
        assert.strictEqual(await measure(0), 0);
        const dropped = await client.batch(200, { metadata: { cookie: "canary-session=v1.5" } });
        assert.strictEqual(dropped.byTrack.canary ?? 0, 0, JSON.stringify(dropped.byTrack));
        await stack.set({ canaryImage: undefined, canaryVersion: undefined });
        await stack.up();
    });

    it("the release bot completes a healthy release: both routes at stable 100, stable runs the new version, measured", async () => {
        const { report } = await release("2.0.0", "v2", 0);
        assert.strictEqual(report.outcome, "completed");
        const passed = report.events.filter((e) => e.kind === "analysis" && e.verdict === "pass");
        assert.deepStrictEqual(
            passed.map((e) => e.weight),
            [30, 100],
        );
        const sr = passed[0].checks!.find((c) => c.name === "success-rate")!;
        assert.ok(sr.value! >= 99.9, `success rate measured by Prometheus: ${sr.value}`);
        for (const route of ["shop", "shop-mesh"]) {
            assert.deepStrictEqual(routeWeights(route), [
                ["shop-stable", 100],
                ["shop-canary", 0],
            ]);
        }
        const stable = live("deployment", NS, "shop-stable")!;
        assert.strictEqual(stable.spec.template.metadata.labels.version, "v2");
        const split = await afterRelease();
        assert.deepStrictEqual(Object.keys(split), ["stable/v2"], JSON.stringify(split));
        console.log(`      after completion: ${JSON.stringify(split)}`);
    });

    it("a canary failing 30% of its requests is rolled back: both routes patched at once, recorded, handed back; measured", async () => {
        await mesh.setBehaviour("v3", { errorRate: 0.3, latencyMs: 0 });
        const { report, errors } = await release("3.0.0", "v3", 1);
        assert.strictEqual(report.outcome, "rolled-back");
        assert.deepStrictEqual(
            report.events
                .filter((e) => e.kind === "analysis" && e.verdict !== "hold")
                .map((e) => `${e.weight}:${e.verdict}`),
            ["30:fail", "30:fail"],
        );
        const rollback = report.events.filter((e) => e.kind === "rollback").map((e) => e.message);
        assert.ok(
            rollback.some((m) => m.endsWith(`direct patch of GRPCRoutes ${NS}/shop and ${NS}/shop-mesh)`)),
            rollback.join("\n"),
        );
        assert.ok(
            rollback.some((m) =>
                /^routing recorded in the stack \(targeted update of the GRPCRoutes shop-route and shop-mesh-route\)/.test(
                    m,
                ),
            ),
            rollback.join("\n"),
        );
        assert.ok(!report.events.some((e) => e.kind === "error"), errors());
        for (const route of ["shop", "shop-mesh"]) {
            assert.deepStrictEqual(routeWeights(route), [
                ["shop-stable", 100],
                ["shop-canary", 0],
            ]);
            assert.ok(!managers(route).includes(ROLLBACK_FIELD_MANAGER), managers(route).join(", "));
        }
        // Measured by the client: when did the last request reach the canary, after the bot decided to roll back?
        const decision = Date.parse(report.events.find((e) => e.kind === "rollback")!.time);
        const events = await client.events(Date.parse(report.startedAt));
        const toCanary = events.filter((e) => e[1] === "canary").map((e) => e[0]);
        assert.ok(toCanary.length > 0, "requests reached the canary during the release");
        const patched = report.events.find((e) => e.kind === "rollback" && e.durationMs !== undefined)!;
        const lastCanary = Math.max(...toCanary);
        const split = await afterRelease();
        assert.deepStrictEqual(Object.keys(split), ["stable/v2"], JSON.stringify(split));
        // The rollback dropped session affinity: the canary's cookie holders are back on stable at once.
        const holders = await client.batch(200, { metadata: { cookie: "canary-session=v3" } });
        assert.deepStrictEqual(
            Object.keys(holders.byTrackVersion),
            ["stable/v2"],
            JSON.stringify(holders.byTrackVersion),
        );
        console.log(
            `      rollback: last request to the canary ${lastCanary - decision} ms after the bot's decision ` +
                `(both routes patched ${patched.durationMs} ms after it); then ${JSON.stringify(split)}`,
        );
        assert.ok(
            lastCanary <= decision + patched.durationMs! + 5000,
            `requests reached the canary ${lastCanary - decision - patched.durationMs!} ms after the patch`,
        );
        // State, config and the live routes agree: the next up changes nothing, a refresh finds no drift.
        const preview = await stack.stack.preview();
        assert.deepStrictEqual(Object.keys(preview.changeSummary), ["same"], JSON.stringify(preview.changeSummary));
        const refresh = await stack.stack.previewRefresh();
        assert.deepStrictEqual(Object.keys(refresh.changeSummary), ["same"], JSON.stringify(refresh.changeSummary));
    });
});

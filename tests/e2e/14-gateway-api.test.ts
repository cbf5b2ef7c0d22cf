/**
 * The `gateway-api` routing mode with Istio in the loop: a stack routed with the Kubernetes Gateway API (the
 * standard channel's CRDs from the sigs.k8s.io/gateway-api module, installed by the suite's shared IstioMesh through
 * `gatewayApiCrdsDir`) deploys on the local cluster; istiod accepts its Gateway and routes (their status, written by
 * istiod), `istioctl analyze` stays clean (the harness's check after every `up`), the ingress gateway's routes as
 * istiod serves them over xDS carry the weights, and a proxyless gRPC client in the mesh, routed by istiod from the
 * GRPCRoute whose parent is the app's Service (GAMMA), sends real requests that split as the weights say (the same
 * 99.9% binomial check as the `istio` mode's e2e 04).
 */
import * as assert from "assert";
import { baseConfig, E2EStack, gatewayRoutesAt, kubectl, live, meshWithClient } from "./harness";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";
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

describe("e2e: the gateway-api routing mode (istiod, xDS, real requests)", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let mesh: Mesh;
    let client: MeshClient;

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
        stack = await E2EStack.create(
            "e2e-gwapi",
            baseConfig(NS, {
                hosts: HOST,
                protocol: "grpc",
                routingApi: "gateway-api",
                canaryImage: "registry.example.test/shop:2.0.0",
                canaryVersion: "v2",
            }),
        );
        await stack.up();
        ({ mesh, client } = await meshWithClient(NS));
    });

    after(async () => {
        try {
            await mesh?.stop();
        } finally {
            await stack?.destroyAndRemove();
        }
    });

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

        await stack.set({ canaryWeight: "30" });
        await stack.up();
        const routes = await gatewayRoutesAt(HOST, 30, canaryShare);
        assert.deepStrictEqual(
            routes.map((r) => r.name),
            ["weighted"],
        );
        const canary = await measure(30);
        const [lo, hi] = binomialInterval(N, 0.3, 0.999);
        assert.ok(
            canary >= lo && canary <= hi,
            `${canary} of ${N} reached the canary; the 99.9% interval at 30% is [${lo}, ${hi}]`,
        );

        // A rollback is an up to weight 0: the canary gets nothing again.
        await stack.set({ canaryWeight: "0" });
        await stack.up();
        await gatewayRoutesAt(HOST, 0, canaryShare);
        assert.strictEqual(await measure(0), 0);
    });
});

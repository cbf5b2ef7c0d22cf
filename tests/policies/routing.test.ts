import * as assert from "assert";
import { UNKNOWN } from "../../policies/kube";
import { routeWeights, subsetsDefined } from "../../policies/routing";
import { DEPLOYMENT, DR, edit, one, release, runResource, runStack, VS } from "./fixtures";

describe("policy istio-route-weights", () => {
    it("passes CanaryRelease's VirtualService at every weight, header and cookie routes included", async () => {
        for (const canaryWeight of [0, 35, 100]) {
            const rs = await release({
                canaryWeight,
                canaryHeader: { name: "x-canary", value: "true" },
                canaryCookie: { name: "v", value: "2" },
            });
            assert.deepStrictEqual(await runResource(routeWeights, one(rs, VS)), []);
        }
    });

    it("fails a route whose weights do not add up to 100, naming them", async () => {
        const vs = edit(one(await release(), VS), (p) => (p.spec.http[0].route[1].weight = 40));
        assert.deepStrictEqual(await runResource(routeWeights, vs), [
            'VirtualService prod/shop route "weighted" sends 130% in total (stable 90, canary 40); the weights of a route must add up to 100',
        ]);
        const partly = edit(one(await release(), VS), (p) => delete p.spec.http[0].route[1].weight);
        assert.deepStrictEqual(await runResource(routeWeights, partly), [
            'VirtualService prod/shop route "weighted" sends 90% in total (stable 90, canary unset); the weights of a route must add up to 100',
        ]);
    });

    it("asks for explicit weights only when configured, and leaves unknown weights to the update", async () => {
        const vs = edit(one(await release(), VS), (p) =>
            p.spec.http[0].route.forEach((d: Record<string, unknown>) => delete d.weight),
        );
        assert.deepStrictEqual(await runResource(routeWeights, vs), []);
        assert.deepStrictEqual(await runResource(routeWeights, vs, { requireExplicitWeights: true }), [
            'VirtualService prod/shop route "weighted" splits traffic without weights (stable unset, canary unset); set the weight of every destination',
        ]);
        const unknown = edit(one(await release(), VS), (p) => (p.spec.http[0].route[1].weight = UNKNOWN));
        assert.deepStrictEqual(await runResource(routeWeights, unknown, { requireExplicitWeights: true }), []);
    });

    it("judges only VirtualServices", async () => {
        const dr = one(await release(), DR);
        assert.deepStrictEqual(
            await runResource(
                routeWeights,
                edit(dr, (p) => (p.spec.http = [{ route: [{ destination: { host: "x" }, weight: 5 }] }])),
            ),
            [],
        );
    });
});

describe("policy istio-subsets-defined", () => {
    it("passes CanaryRelease: both subsets defined, each selecting one Deployment", async () => {
        assert.deepStrictEqual(await runStack(subsetsDefined, await release()), []);
    });

    it("fails a subset no DestinationRule in the stack defines", async () => {
        const rs = await release();
        const noRule = rs.filter((r) => r.type !== DR);
        assert.deepStrictEqual(await runStack(subsetsDefined, noRule), [
            'VirtualService prod/shop route "weighted" routes to subset "stable" of shop.prod.svc.cluster.local, but no DestinationRule in this stack is for that host',
            'VirtualService prod/shop route "weighted" routes to subset "canary" of shop.prod.svc.cluster.local, but no DestinationRule in this stack is for that host',
        ]);
        const onlyStable = rs.map((r) => (r.type === DR ? edit(r, (p) => p.spec.subsets.pop()) : r));
        assert.deepStrictEqual(await runStack(subsetsDefined, onlyStable), [
            'VirtualService prod/shop route "weighted" routes to subset "canary" of shop.prod.svc.cluster.local, but DestinationRule prod/shop defines no such subset (it defines "stable")',
        ]);
    });

    it("fails a subset that selects no Deployment, or several", async () => {
        const rs = await release();
        assert.deepStrictEqual(
            await runStack(
                subsetsDefined,
                rs.filter((r) => r.name !== "shop-canary"),
            ),
            [
                'subset "canary" of DestinationRule prod/shop (labels app=shop,track=canary) selects no Deployment\'s pods in this stack, and VirtualService prod/shop route "weighted" routes to it',
            ],
        );
        const twin = edit(one(rs, DEPLOYMENT, "shop-stable"), (p) => (p.metadata.name = "shop-stable-2"));
        assert.deepStrictEqual(await runStack(subsetsDefined, [...rs, { ...twin, urn: `${twin.urn}-2` }]), [
            'subset "stable" of DestinationRule prod/shop (labels app=shop,track=stable) selects the pods of 2 Deployments (prod/shop-stable, prod/shop-stable-2); a subset must select exactly one',
        ]);
        assert.deepStrictEqual(
            await runStack(
                subsetsDefined,
                rs.filter((r) => r.name !== "shop-canary"),
                { requireSingleDeployment: false },
            ),
            [],
        );
    });

    it("resolves short hosts in the VirtualService's namespace, as Istio does", async () => {
        const rs = (await release()).map((r) =>
            r.type === VS
                ? edit(r, (p) =>
                      p.spec.http[0].route.forEach(
                          (d: { destination: { host: string } }) => (d.destination.host = "shop"),
                      ),
                  )
                : r,
        );
        assert.deepStrictEqual(await runStack(subsetsDefined, rs), []);
    });
});

/**
 * Autoscaling during a canary: the bounds rules (pure, with properties), and what CanaryRelease renders with
 * `autoscaling` on (mocks that record every resource and the options it was registered with).
 */
import * as assert from "assert";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { buildHpaSpec, canaryBounds, canaryMinReplicas, trackBounds, weightShare } from "../../components/autoscaling";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { Recorded, RecordingMocks, value, withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const VS = "kubernetes:networking.istio.io/v1:VirtualService";

/** What a resource was registered with: its options, seen by a transformation the component passes down. */
interface Registered {
    name: string;
    type: string;
    opts: pulumi.CustomResourceOptions;
}

/**
 * The recorder, answering a read of a live Deployment (a registration with an id; a registration that creates has an empty import id) with `liveReplicas` replicas
 * (the cluster as the HPA left it), or with no spec when none is given (a cluster that does not report it).
 */
class LiveMocks extends RecordingMocks {
    constructor(private readonly liveReplicas?: number) {
        super();
    }

    override newResource(args: pulumi.runtime.MockResourceArgs) {
        const made = super.newResource(args);
        if (args.id && args.type === DEPLOYMENT) {
            return {
                id: args.id,
                state: this.liveReplicas !== undefined ? { spec: { replicas: this.liveReplicas } } : {},
            };
        }
        return made;
    }

    /** The reads of live objects. */
    reads(): Recorded[] {
        return this.resources.filter((r) => r.id);
    }
}

/** The Deployments the component manages (reads of live ones excluded). */
const managed = (m: RecordingMocks) => m.ofType(DEPLOYMENT).filter((d) => !d.id);

async function deploy(
    extra: Partial<CanaryReleaseArgs> = {},
    liveReplicas?: number,
): Promise<{ mocks: LiveMocks; seen: Registered[]; canaryReplicas?: number }> {
    const seen: Registered[] = [];
    let canaryReplicas: number | undefined;
    const mocks = await withMocks(
        async () => {
            const release = new CanaryRelease("shop", releaseArgs(extra), {
                transformations: [
                    (a) => {
                        seen.push({ name: a.name, type: a.type, opts: a.opts });
                        return undefined;
                    },
                ],
            });
            canaryReplicas = await value(release.canaryReplicas);
        },
        "test",
        new LiveMocks(liveReplicas),
    );
    return { mocks, seen, canaryReplicas };
}

const hpas = (m: RecordingMocks) => Object.fromEntries(m.ofType(HPA).map((h) => [h.name, h.inputs]));
const AUTOSCALING = { maxReplicas: 12, targetCpuUtilization: 70 };

describe("autoscaling: the bounds rules", () => {
    it("the canary's minimum is ceil(weight/100 x the stable's replicas), at least 1, and no more", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 100_000 }), (w, n) => {
                const min = canaryMinReplicas(w, n);
                assert.ok(min >= 1);
                assert.ok(min * 100 >= w * n, `${min} pods carry ${w}% of ${n}`);
                assert.ok(min === 1 || (min - 1) * 100 < w * n, `${min} is more than ${w}% of ${n} needs`);
            }),
        );
        // A shift to 50% of 8 stable pods lands on 4 canary pods, not 1; 25% of 2 on 1; 10% of 30 on 3.
        assert.deepStrictEqual(
            [canaryMinReplicas(50, 8), canaryMinReplicas(25, 2), canaryMinReplicas(10, 30), canaryMinReplicas(0, 9)],
            [4, 1, 3, 1],
        );
        assert.strictEqual(weightShare(33, 3), 1);
        assert.strictEqual(weightShare(34, 3), 2);
    });

    it("with the stable's current replicas: the canary's minimum is the weight's share of them, never of fewer than the minimum", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 100 }),
                fc.integer({ min: 1, max: 500 }),
                fc.integer({ min: 0, max: 500 }),
                fc.integer({ min: 0, max: 1000 }),
                (w, min, extra, current) => {
                    const stable = { minReplicas: min, maxReplicas: min + extra };
                    const at = canaryBounds(w, stable, current);
                    assert.strictEqual(at.minReplicas, canaryMinReplicas(w, Math.max(min, current)));
                    assert.ok(at.minReplicas >= canaryBounds(w, stable).minReplicas, "never below the minimum's share");
                    assert.ok(at.minReplicas <= at.maxReplicas);
                    assert.strictEqual(at.maxReplicas, Math.max(at.minReplicas, weightShare(w, stable.maxReplicas)));
                    assert.deepStrictEqual(trackBounds("stable", w, stable, current), stable);
                },
            ),
        );
        // A shift to 50% while the stable's HPA runs 8 of its 2..10 pods: the canary starts at 4, not 1.
        assert.deepStrictEqual(canaryBounds(50, { minReplicas: 2, maxReplicas: 10 }, 8), {
            minReplicas: 4,
            maxReplicas: 5,
        });
    });

    it("the canary's bounds grow with the weight, stay within the stable's, and equal them at 100", () => {
        const bounds = fc
            .tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 500 }))
            .map(([min, extra]) => ({ minReplicas: min, maxReplicas: min + extra }));
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 99 }), bounds, (w, stable) => {
                const at = canaryBounds(w, stable);
                const next = canaryBounds(w + 1, stable);
                assert.ok(at.minReplicas <= at.maxReplicas);
                assert.ok(at.maxReplicas <= stable.maxReplicas);
                assert.ok(next.minReplicas >= at.minReplicas && next.maxReplicas >= at.maxReplicas);
                assert.deepStrictEqual(canaryBounds(100, stable), stable);
                // The stable's HPA is the user's whatever the weight: the canary's share never inflates it.
                assert.deepStrictEqual(trackBounds("stable", w, stable), stable);
            }),
        );
        assert.deepStrictEqual(canaryBounds(25, { minReplicas: 2, maxReplicas: 10 }), {
            minReplicas: 1,
            maxReplicas: 3,
        });
    });

    it("an autoscaling/v2 HPA on CPU utilisation; a scale-down window only when given", () => {
        const spec = buildHpaSpec("shop-canary", { minReplicas: 2, maxReplicas: 6 }, { targetCpuUtilization: 70 });
        assert.deepStrictEqual(spec, {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "shop-canary" },
            minReplicas: 2,
            maxReplicas: 6,
            metrics: [
                {
                    type: "Resource",
                    resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
                },
            ],
        });
        assert.deepStrictEqual(
            buildHpaSpec(
                "shop-stable",
                { minReplicas: 1, maxReplicas: 1 },
                { targetCpuUtilization: 50, scaleDownStabilizationSeconds: 0 },
            ).behavior,
            { scaleDown: { stabilizationWindowSeconds: 0 } },
        );
    });
});

describe("CanaryRelease with autoscaling", () => {
    it("one HPA per track: the stable's from replicas to maxReplicas, the canary's by its weight", async () => {
        const { mocks, canaryReplicas } = await deploy({ replicas: 4, canaryWeight: 50, autoscaling: AUTOSCALING });
        const all = hpas(mocks);
        assert.deepStrictEqual(Object.keys(all).sort(), ["shop-canary-hpa", "shop-stable-hpa"]);
        assert.deepStrictEqual(all["shop-stable-hpa"], {
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: { name: "shop-stable", namespace: "prod", labels: { app: "shop" } },
            spec: buildHpaSpec("shop-stable", { minReplicas: 4, maxReplicas: 12 }, { targetCpuUtilization: 70 }),
        });
        assert.deepStrictEqual(
            all["shop-canary-hpa"].spec,
            buildHpaSpec("shop-canary", { minReplicas: 2, maxReplicas: 6 }, { targetCpuUtilization: 70 }),
        );
        assert.strictEqual(canaryReplicas, 2, "the canary's exported replicas are its HPA's minimum");
    });

    it("the canary's minimum follows the stable's live replicas (read from the cluster), never below its minimum's share", async () => {
        const at = async (live?: number) => {
            const { mocks } = await deploy({ replicas: 4, canaryWeight: 50, autoscaling: AUTOSCALING }, live);
            const spec = hpas(mocks)["shop-canary-hpa"].spec;
            return { mocks, bounds: [spec.minReplicas, spec.maxReplicas] };
        };
        // The stable's HPA chose 9 pods: at 50% the canary starts from 5, not from half of the minimum (2).
        const scaled = await at(9);
        assert.deepStrictEqual(scaled.bounds, [5, 6]);
        assert.deepStrictEqual(hpas(scaled.mocks)["shop-stable-hpa"].spec.minReplicas, 4, "the stable's own bounds");
        const [read] = scaled.mocks.reads();
        assert.deepStrictEqual(
            [read.type, read.name, read.id],
            [DEPLOYMENT, "shop-stable-live", "prod/shop-stable"],
            "one read: the live stable Deployment",
        );
        assert.strictEqual(scaled.mocks.reads().length, 1);
        // Fewer live pods than the minimum (a Deployment scaled by hand) or a cluster that reports none: the minimum.
        assert.deepStrictEqual((await at(2)).bounds, [2, 6]);
        assert.deepStrictEqual((await at(undefined)).bounds, [2, 6]);
        // The stable's maximum still caps the canary's: at 12 live pods of 12, half is 6..6.
        assert.deepStrictEqual((await at(12)).bounds, [6, 6]);
    });

    it("a pinned count (the bot's releaseStableReplicas) is used as given, and nothing is read", async () => {
        const { mocks } = await deploy(
            { replicas: 4, canaryWeight: 50, autoscaling: { ...AUTOSCALING, stableReplicas: 8 } },
            3, // what a read would see: not asked
        );
        assert.deepStrictEqual(mocks.reads(), []);
        const spec = hpas(mocks)["shop-canary-hpa"].spec;
        assert.deepStrictEqual([spec.minReplicas, spec.maxReplicas], [4, 6]);
    });

    it("a shift changes the canary HPA's bounds only: the stable's HPA and both Deployments render the same", async () => {
        const at = async (w: number) =>
            (await deploy({ replicas: 4, canaryWeight: w, autoscaling: AUTOSCALING })).mocks;
        const [a, b] = [await at(10), await at(75)];
        assert.deepStrictEqual(hpas(a)["shop-stable-hpa"], hpas(b)["shop-stable-hpa"]);
        assert.deepStrictEqual(
            [hpas(a)["shop-canary-hpa"].spec.minReplicas, hpas(b)["shop-canary-hpa"].spec.minReplicas],
            [1, 3],
        );
        assert.deepStrictEqual(
            [hpas(a)["shop-canary-hpa"].spec.maxReplicas, hpas(b)["shop-canary-hpa"].spec.maxReplicas],
            [2, 9],
        );
        const stable = (m: RecordingMocks) => managed(m).find((d) => d.name === "shop-stable")!.inputs;
        assert.deepStrictEqual(stable(a), stable(b));
    });

    it("Pulumi does not own a scaled Deployment's replicas: set once at creation (the HPA's minimum), then ignored", async () => {
        const { mocks, seen } = await deploy({ replicas: 3, canaryWeight: 50, autoscaling: AUTOSCALING });
        const replicas = Object.fromEntries(managed(mocks).map((d) => [d.name, d.inputs.spec.replicas]));
        assert.deepStrictEqual(replicas, { "shop-stable": 3, "shop-canary": 2 });
        const deployments = seen.filter((s) => s.type === DEPLOYMENT && s.name !== "shop-stable-live");
        assert.strictEqual(deployments.length, 2);
        for (const d of deployments) {
            assert.deepStrictEqual(d.opts.ignoreChanges, ["spec.replicas"], d.name);
        }
        // Without autoscaling, Pulumi owns them as before.
        const off = await deploy();
        for (const d of off.seen.filter((s) => s.type === DEPLOYMENT)) {
            assert.strictEqual(d.opts.ignoreChanges, undefined, d.name);
        }
        assert.strictEqual(off.mocks.ofType(HPA).length, 0);
    });

    it("each HPA depends on its Deployment: created after it, deleted before it", async () => {
        const { mocks, seen } = await deploy({ autoscaling: AUTOSCALING });
        const urnOf = (name: string) => mocks.resources.find((r) => r.name === name)!;
        for (const track of ["stable", "canary"]) {
            const hpa = seen.find((s) => s.name === `shop-${track}-hpa`)!;
            const deps = (hpa.opts.dependsOn as pulumi.Resource[]).map(
                (r) => (r as unknown as { __name: string }).__name,
            );
            assert.ok(deps.includes(`shop-${track}`), `${track}: ${deps.join(", ")}`);
            assert.ok(urnOf(`shop-${track}`));
        }
    });

    it("no release in progress (rolled back or complete): no canary Deployment, no canary HPA, canary replicas 0", async () => {
        const { mocks, canaryReplicas } = await deploy({
            canary: undefined,
            canaryWeight: 0,
            autoscaling: AUTOSCALING,
        });
        assert.deepStrictEqual(
            mocks.ofType(DEPLOYMENT).map((d) => d.name),
            ["shop-stable"],
            "no canary, and no read of the stable's replicas",
        );
        assert.deepStrictEqual(Object.keys(hpas(mocks)), ["shop-stable-hpa"]);
        assert.strictEqual(canaryReplicas, 0);
        // The route waits for the Deployments that exist; the canary subset has no pods and weight 0.
        assert.strictEqual(mocks.ofType(VS).length, 1);
        // Without autoscaling the canary track keeps its pods on the stable version, as before.
        const off = await deploy({ canary: undefined, canaryWeight: 0 });
        assert.strictEqual(managed(off.mocks).length, 2);
        assert.strictEqual(off.canaryReplicas, 1);
    });

    it("a header, cookie or mirror route keeps the canary track running with no release (it serves those routes)", async () => {
        for (const extra of [
            { canaryHeader: { name: "x-canary", value: "true" } },
            { canaryCookie: { name: "version", value: "v2" } },
            { mirrorPercent: 5 },
        ]) {
            const { mocks, canaryReplicas } = await deploy({
                ...extra,
                canary: undefined,
                canaryWeight: 0,
                autoscaling: AUTOSCALING,
            });
            assert.deepStrictEqual(Object.keys(hpas(mocks)).sort(), ["shop-canary-hpa", "shop-stable-hpa"]);
            assert.strictEqual(canaryReplicas, 1, JSON.stringify(extra));
        }
    });

    it("disruption budgets: stable keeps all but one pod in a drain, the canary never blocks one", async () => {
        const { mocks } = await deploy({ replicas: 4, canaryWeight: 50, autoscaling: AUTOSCALING });
        const budgets = Object.fromEntries(mocks.ofType(PDB).map((p) => [p.name, p.inputs.spec]));
        assert.strictEqual(budgets["shop-stable-pdb"].maxUnavailable, 1);
        assert.strictEqual(budgets["shop-canary-pdb"].maxUnavailable, "100%");
        for (const spec of Object.values(budgets)) {
            assert.strictEqual("minAvailable" in spec, false, "a minimum would block a rollback's scale-down");
        }
    });

    it("bad autoscaling values: full-sentence errors naming the field, before any resource is registered", async () => {
        const cases: [Partial<CanaryReleaseArgs>, string][] = [
            [
                { replicas: 5, autoscaling: { maxReplicas: 3 } },
                "autoscaling.maxReplicas must be at least replicas (the stable's minimum, 5); got 3",
            ],
            [
                { autoscaling: { maxReplicas: 10, targetCpuUtilization: 0 } },
                "autoscaling.targetCpuUtilization must be an integer from 1 to 1000; got 0",
            ],
            [
                { autoscaling: { maxReplicas: 10, scaleDownStabilizationSeconds: 7200 } },
                "autoscaling.scaleDownStabilizationSeconds must be an integer from 0 to 3600; got 7200",
            ],
            [
                { autoscaling: { maxReplicas: 10, stableReplicas: 0 } },
                "autoscaling.stableReplicas must be an integer from 1 to 2147483647; got 0",
            ],
            [
                { canaryScaling: true, autoscaling: { maxReplicas: 10 } },
                "canaryScaling must be false with autoscaling: the canary's HPA bounds follow its weight instead",
            ],
        ];
        for (const [extra, message] of cases) {
            const mocks = await withMocks(() => {
                assert.throws(
                    () => new CanaryRelease("shop", releaseArgs(extra)),
                    (e: Error) => {
                        assert.ok(e.message.includes(message), e.message);
                        return true;
                    },
                );
            });
            assert.strictEqual(mocks.resources.length, 0);
        }
    });
});

/**
 * What the bot checks before it applies anything: the deployed starting point, the previewed plan, drift, the
 * deployed stack, the canary a resume analyses, and every query once.
 */
import * as assert from "assert";
import { ResourceChange } from "../../../stacks/automation/driver";
import { DEPLOYMENT, HPA, planViolations, VIRTUAL_SERVICE } from "../../../stacks/release/guard";
import { exitCode } from "../../../stacks/release/result";
import { runRelease } from "../../../stacks/release/run";
import { FakeStack, healthy, VS_URN } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

const V3 = "registry.example.test/shop:3.0.0";
const deploymentChange = (name: string, paths: string[], op = "update"): ResourceChange => ({
    urn: `urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$${DEPLOYMENT}::${name}`,
    type: DEPLOYMENT,
    op,
    paths,
});

describe("release bot: what it checks before applying (fake stack, clock and metrics)", function () {
    this.timeout(20000);
    const m = memoryBench();
    const bot = (stack: FakeStack, opts?: Parameters<typeof runRelease>[0]) => m.bot(stack, opts);

    describe("starts from the deployed config, not the checkout's", () => {
        /** A fresh CI checkout: the committed file (idle, stable v1) while v2 was released and deployed. */
        const freshCheckout = () => {
            const stack = new FakeStack(stackConfig());
            stack.deployed = {
                ...stackConfig({ stableImage: V2, stableVersion: "v2" }),
                releaseStatus: "completed",
                releaseVersion: "v2",
                releaseImage: V2,
                releasePreviousImage: "registry.example.test/shop:1.0.0",
                releasePreviousVersion: "v1",
            };
            return stack;
        };

        it("refuses, changing nothing, when the checkout disagrees on stable or release status", async () => {
            const stack = freshCheckout();
            const before = { ...stack.config };
            await assert.rejects(bot(stack, { image: V3, version: "v3" }), {
                name: "PreflightError",
                message:
                    'the checkout\'s config of stack dev disagrees with what is deployed: stableImage is "registry.example.test/shop:1.0.0" here, ' +
                    '"registry.example.test/shop:2.0.0" deployed; stableVersion is "v1" here, "v2" deployed; releaseStatus is unset here, ' +
                    '"completed" deployed; releaseVersion is unset here, "v2" deployed; releaseImage is unset here, ' +
                    '"registry.example.test/shop:2.0.0" deployed. Nothing was changed. Start from the deployed release state with ' +
                    "--config-from deployed (a fresh CI checkout), or keep this checkout's with --config-from checkout (it holds a " +
                    "write that was never deployed, e.g. a bot killed between a config write and its update)",
            });
            assert.deepStrictEqual(stack.config, before);
            assert.deepStrictEqual(stack.ups, []);
        });

        it("--config-from deployed: the release replaces the deployed stable, never the checkout's old one", async () => {
            const stack = freshCheckout();
            const result = await bot(stack, { image: V3, version: "v3", configFrom: "deployed" });
            assert.strictEqual(result.outcome, "completed");
            assert.strictEqual(stack.ups[0].config.stableImage, V2, "the first update keeps the deployed stable");
            assert.strictEqual(stack.ups[0].config.releasePreviousVersion, "v2", "the rollback target is v2, not v1");
            assert.strictEqual(stack.deployed!.stableVersion, "v3");
        });

        it("--config-from checkout: the checkout's config wins", async () => {
            const stack = freshCheckout();
            const result = await bot(stack, { image: V3, version: "v3", configFrom: "checkout" });
            assert.strictEqual(result.outcome, "completed");
            assert.strictEqual(stack.ups[0].config.releasePreviousVersion, "v1");
        });

        it("takes undecisive protocol keys (weight, phase) from the deployed config", async () => {
            const stack = new FakeStack(stackConfig());
            stack.config.canaryWeight = "40"; // a write a killed run never applied
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "completed");
            assert.strictEqual(stack.ups[0].config.canaryWeight, "0");
        });
    });

    describe("only the planned change is applied", () => {
        it("a stage whose preview changes anything but the VirtualService stops before it is applied", async () => {
            const stack = new FakeStack(stackConfig());
            stack.previewChanges = (c) =>
                c.canaryWeight === "25"
                    ? [
                          { urn: VS_URN, type: VIRTUAL_SERVICE, op: "update", paths: ["spec.http[0].route[0].weight"] },
                          deploymentChange("shop-stable", ["spec.template.spec.containers[0].image"]),
                      ]
                    : [{ urn: VS_URN, type: VIRTUAL_SERVICE, op: "update", paths: ["spec.http"] }];
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "paused");
            assert.strictEqual(
                result.reason,
                "at steps 25: the preview shows changes this step may not make: update Deployment shop-stable " +
                    "(spec.template.spec.containers[0].image); nothing was applied",
            );
            assert.deepStrictEqual(stack.weights(), [0, 10], "25 was never applied");
            assert.strictEqual(stack.config.canaryWeight, "10", "the stage's config write was put back");
            assert.strictEqual(exitCode(result), 9, "paused after traffic moved");
        });

        it("canary scaling may change the canary's replicas in a stage; a replacement never", () => {
            const vs: ResourceChange = { urn: VS_URN, type: VIRTUAL_SERVICE, op: "update", paths: ["spec.http"] };
            assert.deepStrictEqual(
                planViolations("stage", [vs, deploymentChange("shop-canary", ["spec.replicas"])]),
                [],
            );
            assert.deepStrictEqual(
                planViolations("stage", [deploymentChange("shop-canary", ["spec.replicas"], "replace")]),
                ["replace Deployment shop-canary (spec.replicas)"],
            );
            assert.deepStrictEqual(planViolations("start", [deploymentChange("shop-canary", ["spec.template"])]), []);
            assert.deepStrictEqual(
                planViolations("complete", [
                    {
                        urn: "urn:x::mesh-istiod",
                        type: "kubernetes:helm.sh/v3:Release",
                        op: "update",
                        paths: ["values"],
                    },
                ]),
                ["update Release mesh-istiod (values)"],
            );
        });

        it("autoscaling: a step may change HPA bounds; only the start may create the canary's Deployment and HPA", () => {
            const hpa = (name: string, paths: string[], op = "update"): ResourceChange => ({
                urn: `urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$${HPA}::${name}`,
                type: HPA,
                op,
                paths,
            });
            const shift = [hpa("shop-canary-hpa", ["spec.minReplicas", "spec.maxReplicas"])];
            assert.deepStrictEqual(planViolations("stage", shift), []);
            assert.deepStrictEqual(planViolations("stage", [hpa("shop-stable-hpa", ["spec.metrics"])]), [
                "update HorizontalPodAutoscaler shop-stable-hpa (spec.metrics)",
            ]);
            const start = [deploymentChange("shop-canary", [], "create"), hpa("shop-canary-hpa", [], "create")];
            assert.deepStrictEqual(planViolations("start", start), []);
            assert.deepStrictEqual(planViolations("stage", start), [
                "create Deployment shop-canary",
                "create HorizontalPodAutoscaler shop-canary-hpa",
            ]);
            assert.deepStrictEqual(
                planViolations("start", [
                    deploymentChange("shop-stable", [], "create"),
                    hpa("shop-canary-hpa", [], "delete"),
                ]),
                ["create Deployment shop-stable", "delete HorizontalPodAutoscaler shop-canary-hpa"],
            );
        });

        it("applies exactly the previewed plan: a change after the preview stops the update", async () => {
            const stack = new FakeStack(stackConfig());
            stack.previewChanges = (c) => {
                if (c.canaryWeight === "50") {
                    stack.config.replicas = "5"; // someone changes config between the preview and the update
                }
                return [{ urn: VS_URN, type: VIRTUAL_SERVICE, op: "update", paths: ["spec.http"] }];
            };
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "paused");
            assert.match(
                result.reason,
                /^at steps 50: resource .* violates plan: properties changed; nothing was applied$/,
            );
            assert.deepStrictEqual(stack.weights(), [0, 10, 25]);
            assert.ok(stack.ups.every((u) => u.plan !== undefined || u.targets !== undefined || true));
            assert.deepStrictEqual(
                stack.ups.map((u) => u.plan),
                stack.previews.slice(0, 3).map((p) => p.plan),
                "every update applied the plan of its preview",
            );
        });
    });

    describe("changes under the bot", () => {
        it("a kubectl edit of the VirtualService (drift) stops the release before the next stage", async () => {
            const stack = new FakeStack(stackConfig());
            m.clock.onSleep = () => {
                if (stack.config.canaryWeight === "25") {
                    stack.drifted = [
                        { urn: VS_URN, type: VIRTUAL_SERVICE, op: "update", paths: ["spec.http[2].route[0].weight"] },
                    ];
                }
            };
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "paused");
            assert.strictEqual(
                result.reason,
                "the live routing objects differ from the stack's state: update VirtualService shop-vs " +
                    "(spec.http[2].route[0].weight). Someone changed them outside Pulumi (kubectl edit?); the bot stops " +
                    "rather than overwrite or ignore it. Inspect it, then `pulumi refresh --stack dev` (keep the change) " +
                    "or `pulumi up --refresh --stack dev` (undo it), and --resume",
            );
            assert.deepStrictEqual(stack.weights(), [0, 10, 25], "nothing applied over the edit");
            // Only the routing objects are refreshed: the VirtualService and the DestinationRule.
            assert.deepStrictEqual(stack.driftTargets[0], [
                VS_URN,
                VS_URN.replace("VirtualService::shop-vs", "DestinationRule::shop-dr"),
            ]);
        });

        it("a `pulumi up` by someone else in the middle of a release stops it", async () => {
            const stack = new FakeStack(stackConfig());
            m.clock.onSleep = () => {
                if (stack.deployed!.canaryWeight === "10") {
                    stack.deployed = { ...stack.deployed!, canaryWeight: "0" };
                }
            };
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "paused");
            assert.match(
                result.reason,
                /^the deployed stack changed under the bot \(a `pulumi up` by someone else\?\): canaryWeight: deployed "0", the bot deployed "10"\./,
            );
            assert.deepStrictEqual(stack.weights(), [0, 10]);
        });

        it("a rollback keeps a stable hotfixed during the release; it restores stable only if the release changed it", async () => {
            const stack = new FakeStack(stackConfig());
            m.metrics.answer = (q) => healthy(stack.config.canaryWeight === "25" ? 50 : 100, 10)(q);
            m.clock.onSleep = () => {
                if (stack.config.canaryWeight === "25") {
                    stack.config.stableImage = "registry.example.test/shop:1.0.1"; // a hotfix to stable
                }
            };
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "rolled-back");
            assert.strictEqual(stack.deployed!.stableImage, "registry.example.test/shop:1.0.1");
        });
    });

    describe("resume analyses only the release's canary", () => {
        const inProgress = (extra: Record<string, string>) =>
            stackConfig({
                releaseStatus: "in-progress",
                releaseVersion: "v2",
                releaseImage: V2,
                releasePhase: "steps",
                canaryImage: V2,
                canaryVersion: "v2",
                canaryWeight: "25",
                ...extra,
            });

        it("refuses when the canary track is configured with another image", async () => {
            const stack = new FakeStack(inProgress({ canaryImage: V3, canaryVersion: "v3" }));
            await assert.rejects(bot(stack, { resume: true }), {
                message:
                    "the canary track is configured to run v3 (registry.example.test/shop:3.0.0), not the release's v2 " +
                    "(registry.example.test/shop:2.0.0); it will not be analysed. Put it back (canaryImage, canaryVersion) or roll back by hand",
            });
        });

        it("rolls back, unanalysed, when the deployed canary runs another version after converging", async () => {
            const stack = new FakeStack(inProgress({}));
            stack.outputs = () =>
                Promise.resolve({ canary: { image: V3, version: "v3" }, routingUrn: VS_URN }) as ReturnType<
                    FakeStack["outputs"]
                >;
            const result = await bot(stack, { resume: true });
            assert.strictEqual(result.outcome, "rolled-back");
            assert.strictEqual(
                result.reason,
                "the deployed canary runs v3 (registry.example.test/shop:3.0.0), not the release's v2 (registry.example.test/shop:2.0.0); it will not be analysed",
            );
            assert.ok(!result.events.some((e) => e.kind === "analysis"), "nothing analysed");
        });
    });

    describe("metrics", () => {
        it("runs every query once in preflight: a broken custom query fails before any traffic moves", async () => {
            const stack = new FakeStack(
                stackConfig({ releaseChecks: JSON.stringify([{ name: "errors", query: "rate(x[1m])", max: 1 }]) }),
            );
            const before = { ...stack.config };
            m.metrics.answer = (q) =>
                q === "rate(x[1m])"
                    ? {
                          kind: "error",
                          reason: "the query returned a matrix; use an instant vector with one series, or a scalar",
                      }
                    : { kind: "no-data", reason: "empty result" };
            await assert.rejects(bot(stack), {
                message:
                    "queries that do not work, so nothing was started:\nerrors: the query returned a matrix; use an instant vector with one series, or a scalar",
            });
            assert.deepStrictEqual(stack.ups, []);
            assert.deepStrictEqual(stack.config, before, "the lease was put back too");
        });

        it("a metrics source that throws is an error analysis, never a crash without rollback", async () => {
            const stack = new FakeStack(stackConfig({ releaseErrorLimit: "2" }));
            m.metrics.query = (q) =>
                stack.config.canaryWeight === "0"
                    ? Promise.resolve(healthy(100, 10)(q))
                    : Promise.reject(new TypeError("boom"));
            const result = await bot(stack);
            assert.strictEqual(result.outcome, "rolled-back");
            assert.strictEqual(result.cause, "metrics");
            assert.match(
                result.reason,
                /could not query the metrics \(limit 2\) at steps 10: success-rate=- \(min 99\) error: the query failed: boom/,
            );
            assert.strictEqual(stack.deployed!.canaryWeight, "0");
        });

        it("selects the canary by namespace from the parsed config and by the release's version", async () => {
            const stack = new FakeStack(stackConfig({ namespace: "" }));
            await bot(stack);
            assert.ok(m.metrics.queries.length > 0);
            for (const q of m.metrics.queries) {
                assert.match(
                    q,
                    /destination_workload_namespace="shop",destination_workload=~"shop-canary",destination_version="v2"/,
                );
            }
        });
    });
});

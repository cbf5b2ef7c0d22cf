/** The autoscaling keys: off by default, read into the component's `autoscaling`, exact messages naming the keys. */
import * as assert from "assert";
import { parseConfig } from "../../config/program";
import { configProblems, SECRET_KEYS, validConfig } from "../fixtures/config";
import { runProgram } from "../harness";

const secrets = new Set(SECRET_KEYS);
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";

describe("autoscaling keys", () => {
    it("off by default; on, the bounds and the tuning go into release.autoscaling", () => {
        assert.strictEqual(parseConfig(validConfig(), secrets).release.autoscaling, undefined);
        assert.deepStrictEqual(parseConfig(validConfig({ autoscaling: "true" }), secrets).release.autoscaling, {
            maxReplicas: 10,
            targetCpuUtilization: 80,
        });
        assert.deepStrictEqual(
            parseConfig(
                validConfig({
                    autoscaling: "true",
                    autoscalingMaxReplicas: "20",
                    autoscalingTargetCpu: "60",
                    autoscalingScaleDownSeconds: "30",
                }),
                secrets,
            ).release.autoscaling,
            { maxReplicas: 20, targetCpuUtilization: 60, scaleDownStabilizationSeconds: 30 },
        );
    });

    it("releaseStableReplicas (the bot's pinned count) goes into release.autoscaling with autoscaling on, else nowhere", () => {
        assert.deepStrictEqual(
            parseConfig(validConfig({ autoscaling: "true", releaseStableReplicas: "7" }), secrets).release.autoscaling,
            { maxReplicas: 10, targetCpuUtilization: 80, stableReplicas: 7 },
        );
        const off = parseConfig(validConfig({ releaseStableReplicas: "7" }), secrets);
        assert.strictEqual(off.release.autoscaling, undefined);
        assert.strictEqual(off.state.stableReplicas, 7);
        assert.deepStrictEqual(configProblems(validConfig({ autoscaling: "true", releaseStableReplicas: "0" })), [
            'releaseStableReplicas must be an integer from 1 to 2147483647; got "0"',
        ]);
    });

    it("bad values: messages name the keys (not the component's fields) and what they accept", () => {
        assert.deepStrictEqual(
            configProblems(validConfig({ autoscaling: "true", replicas: "4", autoscalingMaxReplicas: "3" })),
            ["autoscalingMaxReplicas must be at least replicas (the stable's minimum, 4); got 3"],
        );
        assert.deepStrictEqual(configProblems(validConfig({ autoscaling: "true", canaryScaling: "true" })), [
            "canaryScaling must be false with autoscaling: the canary's HPA bounds follow its weight instead",
        ]);
        assert.deepStrictEqual(
            configProblems(validConfig({ autoscalingTargetCpu: "0", autoscalingScaleDownSeconds: "1h" })),
            [
                'autoscalingTargetCpu must be an integer from 1 to 1000; got "0"',
                'autoscalingScaleDownSeconds must be an integer from 0 to 3600; got "1h"',
            ],
        );
        assert.deepStrictEqual(configProblems(validConfig({ autoscalng: "true" })).length, 1);
        assert.match(configProblems(validConfig({ autoscalng: "true" }))[0], /did you mean autoscaling\?/);
    });

    it("the program renders one HPA per track during a release, and only the stable's after it", async () => {
        const release = {
            autoscaling: "true",
            replicas: "2",
            autoscalingMaxReplicas: "8",
            canaryImage: "registry.example.test/shop:2.0.0",
            canaryVersion: "v2",
            canaryWeight: "50",
        };
        const during = await runProgram(validConfig(release), SECRET_KEYS);
        assert.ifError(during.error);
        const bounds = during.mocks
            .ofType(HPA)
            .map((h) => `${h.name} ${h.inputs.spec.minReplicas}..${h.inputs.spec.maxReplicas}`)
            .sort();
        assert.deepStrictEqual(bounds, ["shop-canary-hpa 1..4", "shop-stable-hpa 2..8"]);
        assert.deepStrictEqual(during.exports?.canary, { image: release.canaryImage, version: "v2", replicas: 1 });
        const after = await runProgram(validConfig({ autoscaling: "true" }), SECRET_KEYS);
        assert.ifError(after.error);
        assert.deepStrictEqual(
            after.mocks.ofType(HPA).map((h) => h.name),
            ["shop-stable-hpa"],
        );
        assert.strictEqual((after.exports?.canary as { replicas: number }).replicas, 0);
    });
});

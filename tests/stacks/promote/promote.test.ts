import * as assert from "assert";
import { decidePromotion, promote, PromotionState } from "../../../stacks/promote/promote";
import { FakeClock, FakePrometheus, FakeStack, health } from "../fakes";
import { PrometheusClient } from "../../../stacks/release/prometheus";
import { validConfig } from "../../fixtures/config";

const V2 = "registry.example.test/shop:2.0.0";
const V1 = "registry.example.test/shop:1.0.0";

function state(version: string, image: string, release: PromotionState["release"]): PromotionState {
    return { stable: { image, version }, release };
}
const completedV2 = state("v2", V2, { status: "completed", version: "v2", image: V2 });
const prodV1 = state("v1", V1, { status: "idle" });

describe("promotion rules", () => {
    it("promotes a version whose release completed on the source, on the same image", () => {
        assert.deepStrictEqual(decidePromotion("staging", "prod", completedV2, prodV1), {
            action: "release",
            image: V2,
            version: "v2",
        });
        assert.deepStrictEqual(decidePromotion("staging", "prod", completedV2, prodV1, "v2"), {
            action: "release",
            image: V2,
            version: "v2",
        });
    });

    it("promotes the digest-pinned image the source runs", () => {
        const pinned = `registry.example.test/shop@sha256:${"c".repeat(64)}`;
        const source = state("v2", pinned, { status: "completed", version: "v2", image: pinned });
        assert.deepStrictEqual(decidePromotion("staging", "prod", source, prodV1), {
            action: "release",
            image: pinned,
            version: "v2",
        });
    });

    it("refuses a version whose release was rolled back on the source", () => {
        const source = state("v1", V1, { status: "rolled-back", version: "v2", image: V2 });
        assert.deepStrictEqual(decidePromotion("dev", "staging", source, prodV1, "v2"), {
            action: "refuse",
            reason: "the release of v2 on stack dev was rolled-back: it cannot be promoted",
        });
    });

    it("refuses while the source's release is in progress", () => {
        const source = state("v1", V1, { status: "in-progress", version: "v2", image: V2 });
        assert.deepStrictEqual(decidePromotion("dev", "staging", source, prodV1, "v2"), {
            action: "refuse",
            reason: "stack dev has a release of v2 in progress; promote v2 after it completes",
        });
    });

    it("refuses a version the source never released", () => {
        assert.deepStrictEqual(decidePromotion("dev", "staging", completedV2, prodV1, "v3"), {
            action: "refuse",
            reason: "stack dev has no completed release of v3 (it runs v2; its last release: v2 completed); release v3 there first",
        });
        // Deployed by hand (config), never released by the bot: not a completed release.
        assert.deepStrictEqual(decidePromotion("dev", "staging", prodV1, prodV1, "v1"), {
            action: "refuse",
            reason: "stack dev has no completed release of v1 (it runs v1; its last release: none); release v1 there first",
        });
    });

    it("refuses when the source's completed release image is not the image its stable runs", () => {
        // v2 completed with one image, then stable was changed to another image of the same version by hand.
        const swapped = state("v2", "registry.example.test/shop:2.0.0-hotfix", {
            status: "completed",
            version: "v2",
            image: V2,
        });
        assert.deepStrictEqual(decidePromotion("staging", "prod", swapped, prodV1), {
            action: "refuse",
            reason:
                "stack staging completed a release of v2 with image registry.example.test/shop:2.0.0, but its stable runs " +
                "registry.example.test/shop:2.0.0-hotfix: promote only the artifact that was judged (release it on staging again)",
        });
    });

    it("refuses when the source stack is missing or the target is missing", () => {
        assert.deepStrictEqual(decidePromotion("dev", "staging", undefined, prodV1), {
            action: "refuse",
            reason: "stack dev does not exist or was never deployed: nothing to promote",
        });
        assert.deepStrictEqual(decidePromotion("dev", "staging", completedV2, undefined), {
            action: "refuse",
            reason: "stack staging does not exist or was never deployed: deploy it first",
        });
    });

    it("is a no-op when the target already runs the version", () => {
        assert.deepStrictEqual(decidePromotion("staging", "prod", completedV2, completedV2), {
            action: "no-op",
            reason: `stack prod already runs v2 (${V2}); nothing to do`,
        });
    });

    it("refuses while the target has a release in progress", () => {
        const busy = state("v1", V1, { status: "in-progress", version: "v9", image: V2 });
        assert.deepStrictEqual(decidePromotion("staging", "prod", completedV2, busy), {
            action: "refuse",
            reason: "stack prod has a release of v9 in progress; resume or finish it first",
        });
    });
});

describe("promote (with the release bot on a fake target)", () => {
    let prom: FakePrometheus;
    let url: string;
    beforeEach(async () => {
        prom = new FakePrometheus();
        url = await prom.start();
        prom.answer = health(100, 10);
    });
    afterEach(() => prom.stop());

    const targetConfig = () => ({
        ...validConfig({ stableImage: V1, stableVersion: "v1" }),
        releaseSteps: "50,100",
        prometheusUrl: url,
    });

    it("releases on the target with the target's policy, and the target ends on the source's version", async () => {
        const target = new FakeStack(targetConfig());
        const result = await promote(
            { from: "staging", to: "prod" },
            {
                readState: (s) => Promise.resolve(s === "staging" ? completedV2 : prodV1),
                target,
                metrics: new PrometheusClient({ url, timeoutMs: 2000 }),
                clock: new FakeClock(),
                log: () => undefined,
            },
        );
        assert.strictEqual(result.release?.outcome, "completed");
        assert.deepStrictEqual(target.weights(), [0, 50, 100, 100, 0, 0]);
        assert.strictEqual(target.config.stableImage, V2);
        assert.strictEqual(target.config.stableVersion, "v2");
    });

    it("a refusal changes nothing on the target", async () => {
        const target = new FakeStack(targetConfig());
        const before = { ...target.config };
        const result = await promote(
            { from: "dev", to: "staging", version: "v2" },
            {
                readState: (s) =>
                    Promise.resolve(s === "dev" ? state("v1", V1, { status: "rolled-back", version: "v2" }) : prodV1),
                target,
                clock: new FakeClock(),
                log: () => undefined,
            },
        );
        assert.strictEqual(result.decision.action, "refuse");
        assert.strictEqual(result.release, undefined);
        assert.deepStrictEqual(target.config, before);
        assert.deepStrictEqual(target.ups, []);
    });

    it("refuses promoting a stack to itself", async () => {
        const target = new FakeStack(targetConfig());
        const result = await promote(
            { from: "prod", to: "prod" },
            { readState: () => Promise.resolve(completedV2), target },
        );
        assert.deepStrictEqual(result.decision, { action: "refuse", reason: "--from and --to name the same stack" });
    });
});

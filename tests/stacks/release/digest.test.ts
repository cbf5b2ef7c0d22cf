/** The release bot with images pinned by digest: the version comes from the tag, or from --version. */
import * as assert from "assert";
import { FakeStack, health } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

const DIGEST = `sha256:${"cd".repeat(32)}`;

describe("release bot: images pinned by digest (fake stack and clock, Prometheus API on 127.0.0.1)", function () {
    this.timeout(20000);
    const b = releaseBench();

    it("an --image pinned by digest only needs --version; nothing changes without it", async () => {
        const stack = new FakeStack(stackConfig());
        const image = `registry.example.test/shop@${DIGEST}`;
        await assert.rejects(b.run(stack, { image }), {
            name: "PreflightError",
            message: `--version is required: the image ${image} has no tag to take it from`,
        });
        assert.deepStrictEqual(stack.ups, []);
        b.prom.answer = health(100, 10);
        const result = await b.run(stack, { image, version: "v2" });
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(stack.config.stableImage, image, "stable runs the digest that was judged");
        assert.strictEqual(stack.config.stableVersion, "v2");
        assert.strictEqual(stack.config.releaseImage, image);
    });

    it("an --image with a tag and a digest takes its version from the tag and runs the digest", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(stackConfig());
        const image = `registry.example.test:5000/shop:2.1.0@${DIGEST}`;
        const result = await b.run(stack, { image });
        assert.strictEqual(result.outcome, "completed");
        assert.strictEqual(stack.config.stableImage, image);
        assert.strictEqual(stack.config.stableVersion, "2.1.0");
        assert.ok(
            stack.ups.some((u) => u.config.canaryImage === image && u.config.canaryVersion === "2.1.0"),
            "the canary ran the pinned image under the tag's version",
        );
    });
});

/** Images pinned by digest, everywhere an image goes: the grammar, both tracks, the program's outputs. */
import * as assert from "assert";
import { CanaryRelease } from "../../components/canary-release";
import { IMAGE_ACCEPTS, IMAGE_REF } from "../../components/validation";
import { releaseConfig, SECRET_KEYS } from "../fixtures/config";
import { releaseArgs } from "../fixtures/release";
import { runProgram, withMocks } from "../harness";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("images pinned by digest", () => {
    it("the image grammar takes a digest alone, after a tag, behind a registry port; and says so", () => {
        for (const ok of [
            `ghcr.io/org/app@${DIGEST}`,
            `ghcr.io/org/app:1.2.3@${DIGEST}`,
            `localhost:5000/app@${DIGEST}`,
            `localhost:5000/org/app:v1@${DIGEST}`,
            `app@${DIGEST}`,
        ]) {
            assert.ok(IMAGE_REF.test(ok), ok);
        }
        for (const bad of [
            "ghcr.io/org/app@sha256:abc",
            `ghcr.io/org/app@sha512:${"ab".repeat(64)}`,
            `ghcr.io/org/app@${DIGEST.toUpperCase()}`,
            `ghcr.io/org/app@${DIGEST}:1.2.3`,
        ]) {
            assert.ok(!IMAGE_REF.test(bad), bad);
        }
        assert.strictEqual(
            IMAGE_ACCEPTS,
            'a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"',
        );
    });

    it("CanaryRelease runs images pinned by digest, with or without a tag, on both tracks", async () => {
        const stable = `registry.example.test/shop@${DIGEST}`;
        const canary = `registry.example.test/shop:2.0.0@${DIGEST}`;
        const mocks = await withMocks(() => {
            new CanaryRelease(
                "shop",
                releaseArgs({ stable: { image: stable, version: "v1" }, canary: { image: canary, version: "v2" } }),
            );
        });
        const image = (d: string) =>
            mocks.one("kubernetes:apps/v1:Deployment", d).inputs.spec.template.spec.containers[0].image;
        assert.strictEqual(image("shop-stable"), stable);
        assert.strictEqual(image("shop-canary"), canary);
    });

    it("the program takes digests in stableImage and canaryImage and exports the stable one's digest", async () => {
        const r = await runProgram(
            releaseConfig(10, {
                stableImage: `registry.example.test/shop:1.0.0@${DIGEST}`,
                canaryImage: `registry.example.test/shop@${DIGEST}`,
            }),
            SECRET_KEYS,
        );
        assert.strictEqual(r.error, undefined);
        assert.deepStrictEqual(r.exports?.stable, {
            image: `registry.example.test/shop:1.0.0@${DIGEST}`,
            version: "v1",
            digest: DIGEST,
        });
        assert.deepStrictEqual(r.exports?.canary, {
            image: `registry.example.test/shop@${DIGEST}`,
            version: "v2",
            replicas: 1,
        });
    });
});

import * as assert from "assert";
import { editDistance, Reader } from "../../config/reader";
import { readMesh } from "../../config/mesh-keys";
import { readRelease } from "../../config/release-keys";

const doc = "What the key does.";
const any = { accepts: "anything", pattern: /[\s\S]*/ };

describe("Reader: key names in messages", () => {
    it("editDistance is the Levenshtein distance", () => {
        const cases: [string, string, number][] = [
            ["", "", 0],
            ["abc", "", 3],
            ["", "abc", 3],
            ["abc", "abc", 0],
            ["kitten", "sitting", 3],
            ["abc", "xxabc", 2],
            ["abc", "xxxabc", 3],
            ["xxxabc", "abc", 3],
            ["canaryWieght", "canaryWeight", 2],
        ];
        for (const [a, b, d] of cases) {
            assert.strictEqual(editDistance(a, b), d, `${a} -> ${b}`);
        }
    });

    it("reports unknown keys sorted, with the nearest declared key or none", () => {
        const r = new Reader({ zzz: "1", hots: "a", weight: "5", host: "a" });
        r.string("host", { ...any, doc });
        assert.deepStrictEqual(r.unknownKeys(), [
            "istio-canary:hots is not a config key of this program; did you mean host? (see the config reference in README.md)",
            "istio-canary:weight is not a config key of this program (see the config reference in README.md)",
            "istio-canary:zzz is not a config key of this program (see the config reference in README.md)",
        ]);
    });

    describe("fieldNamer", () => {
        const r = new Reader({});
        r.string("image", { ...any, doc, field: "release.canary.image" });
        r.string("version", { ...any, doc, field: "release.canary.version" });
        r.string("headerValue", { ...any, doc, field: "release.header.value" });
        r.string("altHeaderValue", { ...any, doc, field: "release.header.value" });
        r.string("app", { ...any, doc });
        const name = r.fieldNamer("release");

        it("names a field by every key that declares it", () => {
            assert.strictEqual(name("header.value"), "headerValue and altHeaderValue");
        });
        it("names a field by its own key", () => {
            assert.strictEqual(name("app"), "app");
        });
        it("names a field filled by several keys' parts by all of them", () => {
            assert.strictEqual(name("canary"), "image and version");
        });
        it("names a field by its parts' keys, not by a key of the same name that fills another field", () => {
            const q = new Reader({});
            q.string("canary", { ...any, doc, field: "release.tag" });
            q.string("canaryImage", { ...any, doc, field: "release.canary.image" });
            assert.strictEqual(q.fieldNamer("release")("canary"), "canaryImage");
        });
        it("names a field no key fills by the field", () => {
            assert.strictEqual(name("gateway"), "gateway");
            assert.strictEqual(r.fieldNamer("mesh")("image"), "image");
        });
    });

    it("the program's keys name the components' fields in their messages", () => {
        const r = new Reader({});
        readRelease(r);
        readMesh(r);
        const mesh = r.fieldNamer("mesh");
        assert.deepStrictEqual(
            [
                "install",
                "version",
                "repository",
                "chartDir",
                "namespace",
                "revision",
                "gatewayName",
                "baseValues",
                "istiodValues",
            ].map(mesh),
            [
                "istioInstall",
                "istioVersion",
                "istioChartRepository",
                "istioChartDir",
                "istioNamespace",
                "istioRevision",
                "gatewayName",
                "istioBaseValues",
                "istiodValues",
            ],
        );
        const release = r.fieldNamer("release");
        assert.deepStrictEqual(
            [
                "canary",
                "stable.image",
                "canaryHeader.value",
                "retries",
                "retries.attempts",
                "retries.perTryTimeout",
                "retries.retryOn",
                "canaryWeight",
            ].map(release),
            [
                "canaryImage and canaryVersion",
                "stableImage",
                "canaryHeaderValue",
                "retryAttempts and perTryTimeout and retryOn",
                "retryAttempts",
                "perTryTimeout",
                "retryOn",
                "canaryWeight",
            ],
        );
    });
});

import * as assert from "assert";
import { classify } from "../../../stacks/release/prometheus";

describe("Prometheus answers", () => {
    it("classifies values, no data and errors", () => {
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "99.5"] }] }), {
            kind: "value",
            value: 99.5,
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [] }), {
            kind: "no-data",
            reason: "empty result",
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "NaN"] }] }), {
            kind: "no-data",
            reason: "NaN (no requests in the window?)",
        });
        assert.deepStrictEqual(classify({ resultType: "scalar", result: [1, "+Inf"] }), {
            kind: "value",
            value: Infinity,
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "1"] }, { value: [1, "2"] }] }), {
            kind: "error",
            reason: "the query returned 2 series; aggregate it to one",
        });
        assert.strictEqual(classify({ resultType: "matrix", result: [] }).kind, "error");
    });
});

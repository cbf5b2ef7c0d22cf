/** The shared validation vocabulary, at its edges: lengths, anchors, and the exact messages. */
import * as assert from "assert";
import {
    DNS_LABEL,
    DURATION,
    durationMs,
    HEADER_NAME,
    IMAGE_REF,
    LABEL_VALUE,
    RETRY_ON,
    retryOnProblems,
} from "../../components/validation";

describe("validation vocabulary", () => {
    it("DNS labels and label values: one character to 63, anchored", () => {
        for (const re of [DNS_LABEL, LABEL_VALUE]) {
            assert.ok(re.test("a"), `${re}: one character`);
            assert.ok(re.test("a".repeat(63)), `${re}: 63 characters`);
            assert.ok(!re.test("a".repeat(64)), `${re}: 64 characters`);
            assert.ok(!re.test("a-"), `${re}: ends with "-"`);
        }
    });

    it("durations: whole strings of number-unit pairs", () => {
        assert.ok(DURATION.test("1m30s"));
        assert.ok(!DURATION.test("x5s"));
        assert.ok(!DURATION.test("5sx"));
        assert.strictEqual(durationMs("15s"), 15_000);
        assert.strictEqual(durationMs("1h1m250ms"), 3_660_250);
        assert.strictEqual(durationMs("5x"), undefined);
    });

    it("image references: registry port, separators in path components", () => {
        for (const ok of ["registry.example.test:5000/shop:1.0", "ghcr.io/org/my-app:1", "ghcr.io/org/my__app:1"]) {
            assert.ok(IMAGE_REF.test(ok), ok);
        }
        assert.ok(!IMAGE_REF.test("registry:port/shop"));
    });

    it("header names: a whole token", () => {
        assert.ok(HEADER_NAME.test("x-canary"));
        assert.ok(!HEADER_NAME.test("x canary"));
    });

    it("retryOn: known conditions and 3-digit status codes, spaces allowed, exact message", () => {
        assert.deepStrictEqual(retryOnProblems("retryOn", "5xx, reset,503"), []);
        assert.deepStrictEqual(retryOnProblems("retryOn", "5031,x503,603,5x3,50x"), [
            `retryOn must be a comma-separated list of ${RETRY_ON.join(", ")} or HTTP status codes; ` +
                'got unknown "5031", "x503", "603", "5x3", "50x"',
        ]);
    });
});

import * as assert from "assert";
import { parsePolicy } from "../../config/policy";
import { readHooks } from "../../config/policy-hooks";
import { Reader } from "../../config/reader";
import { DURATION, policyConfigProblems } from "./policy-problems";

/** The problems parsePolicy reports for these hooks (as releaseHooks). */
const hookProblems = (hooks: unknown) => policyConfigProblems({ releaseHooks: JSON.stringify(hooks) });
const hook = (more: Record<string, unknown>) => ({ name: "a", type: "event", url: "http://h.example.com/x", ...more });

describe("release policy: each hook entry, at its bounds (exact messages)", () => {
    it("a URL is http(s) from its first character to its last, with a host", () => {
        assert.deepStrictEqual(hookProblems([hook({ url: "xhttp://h.example.com/x" })]), [
            'releaseHooks[0] (a): url must be an http(s):// URL with a host (no spaces or fragment, at most 2048); got "xhttp://h.example.com/x"',
        ]);
        assert.deepStrictEqual(hookProblems([hook({ url: "http://h.example.com/a b" })]), [
            'releaseHooks[0] (a): url must be an http(s):// URL with a host (no spaces or fragment, at most 2048); got "http://h.example.com/a b"',
        ]);
        assert.deepStrictEqual(hookProblems([hook({ url: "http:///x" })]), [
            'releaseHooks[0] (a): url must be an http(s):// URL with a host (no spaces or fragment, at most 2048); got "http:///x"',
        ]);
        assert.deepStrictEqual(hookProblems([hook({ url: undefined })]), [
            "releaseHooks[0] (a): url must be an http(s):// URL with a host (no spaces or fragment, at most 2048)",
        ]);
    });

    it("credentials are looked for in the URL's authority only, not in its query", () => {
        const url = "https://h.example.com/r?next=http://a@b.example.com/";
        assert.deepStrictEqual(parsePolicy({ releaseHooks: JSON.stringify([hook({ url })]) }).hooks, [
            { name: "a", type: "event", url, timeout: "10s", retries: 2 },
        ]);
    });

    it("null, a hook without a name and several unknown fields are named exactly", () => {
        assert.deepStrictEqual(hookProblems([null]), [
            'releaseHooks[0] must be an object {"name", "type", "url", ...}',
        ]);
        assert.deepStrictEqual(hookProblems([{ type: "event", url: "http://h/x" }]), [
            "releaseHooks[0]: name must be lower-case letters, digits and -, at most 63",
        ]);
        assert.deepStrictEqual(hookProblems([hook({ b: 1, c: 2 })]), [
            "releaseHooks[0] (a) has unknown fields b, c (known: name, type, url, timeout, retries, metadata)",
        ]);
    });

    it("a name is matched whole: at most 63 characters, no other characters after a valid start", () => {
        const long = "n".repeat(64);
        assert.deepStrictEqual(hookProblems([hook({ name: "a_b" }), hook({ name: long })]), [
            "releaseHooks[0] (a_b): name must be lower-case letters, digits and -, at most 63",
            `releaseHooks[1] (${long}): name must be lower-case letters, digits and -, at most 63`,
        ]);
        assert.deepStrictEqual(hookProblems([hook({ name: "n".repeat(63) })]), []);
    });

    it("timeout from 1s to 5m inclusive, retries an integer from 0 to 10 inclusive", () => {
        const ok = [hook({ name: "a", timeout: "1s", retries: 0 }), hook({ name: "b", timeout: "5m", retries: 10 })];
        assert.deepStrictEqual(
            parsePolicy({ releaseHooks: JSON.stringify(ok) }).hooks.map((h) => [h.timeout, h.retries]),
            [
                ["1s", 0],
                ["5m", 10],
            ],
        );
        assert.deepStrictEqual(hookProblems([hook({ timeout: "5m1s", retries: -1 })]), [
            `releaseHooks[0] (a): timeout must be ${DURATION}, from 1s to 5m; got "5m1s"`,
            "releaseHooks[0] (a): retries must be an integer from 0 to 10; got -1",
        ]);
        assert.deepStrictEqual(hookProblems([hook({ timeout: 5 })]), [
            `releaseHooks[0] (a): timeout must be ${DURATION}, from 1s to 5m; got 5`,
        ]);
        assert.deepStrictEqual(hookProblems([hook({ name: "a", retries: 1.5 }), hook({ name: "b", retries: "2" })]), [
            "releaseHooks[0] (a): retries must be an integer from 0 to 10; got 1.5",
            'releaseHooks[1] (b): retries must be an integer from 0 to 10; got "2"',
        ]);
    });

    it("metadata: an object whose values are all strings, passed on as given", () => {
        const metadata = { env: "prod", team: "payments" };
        assert.deepStrictEqual(parsePolicy({ releaseHooks: JSON.stringify([hook({ metadata })]) }).hooks, [
            { name: "a", type: "event", url: "http://h.example.com/x", timeout: "10s", retries: 2, metadata },
        ]);
        const bad = [{ env: "prod", n: 1 }, "text", ["x"], null, 5];
        assert.deepStrictEqual(
            hookProblems(bad.map((m, i) => hook({ name: `h${i}`, metadata: m }))),
            bad.map(
                (_, i) =>
                    `releaseHooks[${i}] (h${i}): metadata must be a JSON object of string values (field names not empty, not "__proto__", at most 256)`,
            ),
        );
    });

    it("readHooks keeps only the hooks without problems, and no load URL that has one", () => {
        const r = new Reader({
            releaseHooks: JSON.stringify([hook({ name: "good" }), hook({ name: "bad", retries: 99 })]),
            releaseLoadUrl: "http://u:pw@gw.example.com/",
        });
        const got = readHooks(r);
        assert.deepStrictEqual(
            got.hooks.map((h) => h.name),
            ["good"],
        );
        assert.strictEqual(got.loadUrl, undefined);
        assert.strictEqual(r.problems.length, 2);
    });
});

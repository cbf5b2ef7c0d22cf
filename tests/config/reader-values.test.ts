import * as assert from "assert";
import { Reader } from "../../config/reader";

const doc = "What the key does.";
const any = { accepts: "a string", pattern: /[\s\S]*/ };
const LIST_ACCEPTS = "a list of lower-case words";
const list = { doc, accepts: LIST_ACCEPTS, item: { accepts: "", pattern: /^[a-z ]+$/ } };

describe("Reader: values and their exact problems", () => {
    it("treats an empty value as unset: the default, no problem", () => {
        const r = new Reader({ name: "" });
        assert.strictEqual(r.string("name", { ...any, doc, def: "shop" }), "shop");
        assert.deepStrictEqual(r.problems, []);
    });

    it("declares a key with its accepts, default and an empty group until one is set", () => {
        const r = new Reader({});
        r.string("name", { ...any, doc, def: "shop" });
        r.list("aliases", { ...list, required: false });
        r.group = "Traffic";
        r.required("host", { doc, accepts: "a host name", pattern: /./, field: "release.host" });
        assert.deepStrictEqual(
            r.specs,
            [
                { key: "name", accepts: "a string", default: "shop", doc, group: "", secret: false },
                { key: "aliases", accepts: LIST_ACCEPTS, default: "none", doc, group: "", secret: false },
                {
                    key: "host",
                    accepts: "a host name",
                    default: undefined,
                    doc,
                    group: "Traffic",
                    secret: false,
                    field: "release.host",
                },
            ].map((s) => ({ field: undefined, flag: undefined, ...s })),
        );
    });

    it("required: returns the value, checks it against the pattern and the extra check", () => {
        const r = new Reader({ a: "Shop", b: "Shop", c: "shop" });
        assert.strictEqual(r.required("a", { ...any, doc }), "Shop");
        assert.strictEqual(r.required("b", { doc, accepts: "lower-case letters", pattern: /^[a-z]+$/ }), undefined);
        const short = { doc, accepts: "at most 3 letters", pattern: /^[a-z]+$/, valid: (v: string) => v.length <= 3 };
        assert.strictEqual(r.required("c", short), undefined);
        assert.deepStrictEqual(r.problems, [
            'b must be lower-case letters; got "Shop"',
            'c must be at most 3 letters; got "shop"',
        ]);
    });

    it("a value is quoted up to 200 characters, a secret key's never", () => {
        const long = "x".repeat(300);
        const r = new Reader({ a: long, b: "s3cret" }, new Set(["b"]));
        r.string("a", { doc, accepts: "short", pattern: /^.{1,3}$/ });
        r.string("b", { doc, accepts: "short", pattern: /^.{1,3}$/ });
        assert.deepStrictEqual(r.problems, [
            `a must be short; got "${"x".repeat(197)}..."`,
            "b must be short; got a secret value (not shown)",
        ]);
    });

    describe("integers", () => {
        const limits = { min: 0, max: 100 };
        const accepted: [string, number][] = [
            ["7", 7],
            ["0", 0],
            ["100", 100],
        ];
        for (const [raw, n] of accepted) {
            it(`reads ${JSON.stringify(raw)} as ${n}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.int("k", { doc, limits, def: 1 }), n);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        // What Number() would read as an integer, but is not written as one.
        for (const raw of ["0x10", "1e2", "5.0", "+5", " 7 ", "07", "-0", "101", "99999999999999999999"]) {
            it(`rejects ${JSON.stringify(raw)}, keeping the default`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.int("k", { doc, limits, def: 1 }), 1);
                assert.deepStrictEqual(r.problems, [`k must be an integer from 0 to 100; got ${JSON.stringify(raw)}`]);
            });
        }
    });

    describe("numbers", () => {
        const o = { doc, min: 0, max: 100, def: 3 };
        const accepted: [string, number][] = [
            ["0", 0],
            ["100", 100],
            ["12.25", 12.25],
            ["0.000001", 0.000001],
        ];
        for (const [raw, n] of accepted) {
            it(`reads ${JSON.stringify(raw)} as ${n}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.number("k", o), n);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        for (const raw of ["0x10", "1e1", "-5", "150", "100.5", "1.", ".5", " 12.5 ", "05", "1.0000001", "Infinity"]) {
            it(`rejects ${JSON.stringify(raw)}, keeping the default`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.number("k", o), 3);
                assert.deepStrictEqual(r.problems, [
                    `k must be a number from 0 to 100 (decimal digits, at most 6 after the point); got ${JSON.stringify(raw)}`,
                ]);
            });
        }
    });

    it("a number under a minimum above 0 is refused", () => {
        const r = new Reader({ k: "0.25" });
        assert.strictEqual(r.number("k", { doc, min: 0.5, max: 1, def: 1 }), 1);
        assert.deepStrictEqual(r.problems, [
            'k must be a number from 0.5 to 1 (decimal digits, at most 6 after the point); got "0.25"',
        ]);
    });

    describe("lists", () => {
        const read: [string, string[]][] = [
            ["a, b", ["a", "b"]],
            ["a", ["a"]],
            [' ["a", "b c"]', ["a", "b c"]],
        ];
        for (const [raw, items] of read) {
            it(`reads ${JSON.stringify(raw)}`, () => {
                const r = new Reader({ k: raw });
                assert.deepStrictEqual(r.list("k", { ...list, required: true }), items);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        for (const raw of ['["a", 1]', "[1]", "[a]", "[]", "a,,b", "a,", "a, a", '["a", "a"]', "A", "   "]) {
            it(`rejects ${JSON.stringify(raw)}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.list("k", { ...list, required: true }), undefined);
                assert.deepStrictEqual(r.problems, [`k must be ${LIST_ACCEPTS}; got ${JSON.stringify(raw)}`]);
            });
        }
        it("a missing required list is a problem with the command that sets it", () => {
            const r = new Reader({});
            assert.strictEqual(r.list("hosts", { ...list, required: true }), undefined);
            assert.deepStrictEqual(r.problems, [
                `hosts is required: set it to ${LIST_ACCEPTS} with \`pulumi config set hosts <value>\``,
            ]);
        });
        it("a missing optional list is no problem", () => {
            const r = new Reader({});
            assert.strictEqual(r.list("aliases", { ...list, required: false }), undefined);
            assert.deepStrictEqual(r.problems, []);
        });
    });

    describe("objects", () => {
        const entries = {
            names: { accepts: "", pattern: /^[A-Z]+$/, valid: (k: string) => k !== "NO" },
            values: { accepts: "", pattern: /^\d*$/ },
            nonEmpty: true,
        };
        const o = { doc, accepts: "an object of digits by upper-case names", entries };
        it("reads one whose names and values are in their grammars", () => {
            const r = new Reader({ k: '{"A": "1", "B": ""}' });
            assert.deepStrictEqual(r.object("k", o), { A: "1", B: "" });
            assert.deepStrictEqual(r.problems, []);
        });
        for (const raw of ['{"A": "1", "B": 2}', '{"a": "1"}', '{"NO": "1"}', '{"A": "x"}', "{}", "[]", "null", "{"]) {
            it(`rejects ${raw}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.object("k", o), undefined);
                assert.deepStrictEqual(r.problems, [
                    `k must be an object of digits by upper-case names; got ${JSON.stringify(raw)}`,
                ]);
            });
        }
        it("takes any values without entries, but never a field named __proto__, at any depth", () => {
            const r = new Reader({
                k: '{"A": 1}',
                p: '{"__proto__": {"x": 1}}',
                q: '{"a": [{"b": {"__proto__": 1}}]}',
            });
            assert.deepStrictEqual(r.object("k", { doc }), { A: 1 });
            assert.strictEqual(r.object("p", { doc }), undefined);
            assert.strictEqual(r.object("q", { doc }), undefined);
            assert.deepStrictEqual(r.problems, [
                'p must be a JSON object (no field named "__proto__"); got "{\\"__proto__\\": {\\"x\\": 1}}"',
                'q must be a JSON object (no field named "__proto__"); got "{\\"a\\": [{\\"b\\": {\\"__proto__\\": 1}}]}"',
            ]);
        });
    });

    describe("secrets", () => {
        const g = { doc, accepts: "a token", pattern: /^[a-z]+$/ };
        it("a blank secret is refused, naming the key; a value out of its grammar is never quoted", () => {
            const r = new Reader({ a: "", b: " ", c: "T0KEN", d: "token" }, new Set(["a", "b", "c", "d"]));
            assert.deepStrictEqual(
                ["a", "b", "c", "d"].map((k) => r.secret(k, g)),
                [undefined, undefined, undefined, "token"],
            );
            assert.deepStrictEqual(r.problems, [
                "a is set but blank: set it to a token with `pulumi config set --secret a <value>`, or remove it with `pulumi config rm a`",
                "b is set but blank: set it to a token with `pulumi config set --secret b <value>`, or remove it with `pulumi config rm b`",
                "c must be a token; got a secret value (not shown)",
            ]);
        });
    });
});

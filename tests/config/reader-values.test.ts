import * as assert from "assert";
import { Reader } from "../../config/reader";

const doc = "What the key does.";
const LIST_ACCEPTS = 'a comma-separated list or a JSON array of strings, such as "app.example.com,www.example.com"';

describe("Reader: values and their exact problems", () => {
    it("treats an empty value as unset: the default, no problem", () => {
        const r = new Reader({ name: "" });
        assert.strictEqual(r.string("name", { doc, def: "shop" }), "shop");
        assert.deepStrictEqual(r.problems, []);
    });

    it("declares a key with its accepts, default and an empty group until one is set", () => {
        const r = new Reader({});
        r.string("name", { doc, def: "shop" });
        r.list("aliases", { doc, required: false });
        r.group = "Traffic";
        r.required("host", { doc, accepts: "a host name", field: "release.host" });
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

    it("required: returns the value, checks it against the pattern if any", () => {
        const r = new Reader({ a: "Shop", b: "Shop" });
        assert.strictEqual(r.required("a", { doc, accepts: "anything" }), "Shop");
        assert.strictEqual(r.required("b", { doc, accepts: "lower-case letters", pattern: /^[a-z]+$/ }), undefined);
        assert.deepStrictEqual(r.problems, ['b must be lower-case letters; got "Shop"']);
    });

    describe("integers", () => {
        const limits = { min: 0, max: 100 };
        const accepted: [string, number][] = [
            ["7", 7],
            [" 7 ", 7],
        ];
        for (const [raw, n] of accepted) {
            it(`reads ${JSON.stringify(raw)} as ${n}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.int("k", { doc, limits, def: 1 }), n);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        // What Number() would read as an integer, but is not written as one.
        for (const raw of ["0x10", "1e2", "5.0", "+5"]) {
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
            [" 12.5 ", 12.5],
        ];
        for (const [raw, n] of accepted) {
            it(`reads ${JSON.stringify(raw)} as ${n}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.number("k", o), n);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        for (const raw of ["0x10", "1e1", "-5", "150", "100.5", "1.", ".5"]) {
            it(`rejects ${JSON.stringify(raw)}, keeping the default`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.number("k", o), 3);
                assert.deepStrictEqual(r.problems, [`k must be a number from 0 to 100; got ${JSON.stringify(raw)}`]);
            });
        }
    });

    it("a number under a minimum above 0 is refused", () => {
        const r = new Reader({ k: "0.25" });
        assert.strictEqual(r.number("k", { doc, min: 0.5, max: 1, def: 1 }), 1);
        assert.deepStrictEqual(r.problems, ['k must be a number from 0.5 to 1; got "0.25"']);
    });

    describe("lists", () => {
        const read: [string, string[]][] = [
            ["a, b", ["a", "b"]],
            ["a,,b,", ["a", "b"]],
            [' ["a", "b c"]', ["a", "b c"]],
            ["[]", []],
        ];
        for (const [raw, list] of read) {
            it(`reads ${JSON.stringify(raw)}`, () => {
                const r = new Reader({ k: raw });
                assert.deepStrictEqual(r.list("k", { doc, required: true }), list);
                assert.deepStrictEqual(r.problems, []);
            });
        }
        for (const raw of ['["a", 1]', "[1]", "[a]"]) {
            it(`rejects ${JSON.stringify(raw)}`, () => {
                const r = new Reader({ k: raw });
                assert.strictEqual(r.list("k", { doc, required: true }), undefined);
                assert.deepStrictEqual(r.problems, [`k must be ${LIST_ACCEPTS}; got ${JSON.stringify(raw)}`]);
            });
        }
        it("a missing required list is a problem with the command that sets it", () => {
            const r = new Reader({});
            assert.strictEqual(r.list("hosts", { doc, required: true }), undefined);
            assert.deepStrictEqual(r.problems, [
                `hosts is required: set it to ${LIST_ACCEPTS} with \`pulumi config set hosts <value>\``,
            ]);
        });
        it("a missing optional list is no problem", () => {
            const r = new Reader({});
            assert.strictEqual(r.list("aliases", { doc, required: false }), undefined);
            assert.deepStrictEqual(r.problems, []);
        });
    });

    describe("objects of string values", () => {
        it("reads one whose values are all strings", () => {
            const r = new Reader({ k: '{"A": "1", "B": "2"}' });
            assert.deepStrictEqual(r.object("k", { doc, stringValues: true }), { A: "1", B: "2" });
            assert.deepStrictEqual(r.problems, []);
        });
        it("rejects one with a single non-string value", () => {
            const raw = '{"A": "1", "B": 2}';
            const r = new Reader({ k: raw });
            assert.strictEqual(r.object("k", { doc, stringValues: true }), undefined);
            assert.deepStrictEqual(r.problems, [
                `k must be a JSON object of string values; got ${JSON.stringify(raw)}`,
            ]);
        });
        it("takes any values without stringValues", () => {
            const r = new Reader({ k: '{"A": 1}' });
            assert.deepStrictEqual(r.object("k", { doc }), { A: 1 });
            assert.deepStrictEqual(r.problems, []);
        });
    });
});

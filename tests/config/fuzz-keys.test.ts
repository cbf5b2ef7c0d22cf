/**
 * Every config key fuzzed: random text, JSON and near-misses of valid values. Each value is either refused with a
 * config error whose every line names the key (and never quotes a value set with --secret), or accepted and then
 * within the grammar the README's reference states for the key (tests/config/key-grammars.ts).
 */
import * as assert from "assert";
import * as fc from "fast-check";
import { configKeySpecs, parseConfig } from "../../config/program";
import { ConfigError } from "../../config/reader";
import { shopPair } from "../fixtures/tls";
import { FUZZ_SEED, fuzz } from "../fuzz";
import { anything, KEYS, near, RUNS } from "./key-grammars";

/** A valid config without TLS material to parse (fast), or with the certificate and key when a TLS key is fuzzed. */
function base(key: string): Record<string, string> {
    const config: Record<string, string> = {
        app: "shop",
        stableImage: "registry.example.test/shop:1.0.0",
        stableVersion: "v1",
        hosts: "shop.example.test",
        istioVersion: "1.28.0",
    };
    if (key === "tlsCert" || key === "tlsKey") {
        return { ...config, tlsCert: shopPair().cert, tlsKey: shopPair().key };
    }
    return { ...config, tlsSecretName: "shop-tls" };
}

describe(`config keys fuzzed (seed ${FUZZ_SEED}: FUZZ_SEED=${FUZZ_SEED} replays it)`, () => {
    const specs = configKeySpecs();

    it("every key has a grammar in this test, and only keys the program declares", () => {
        assert.deepStrictEqual(Object.keys(KEYS).sort(), specs.map((s) => s.key).sort());
        for (const [key, k] of Object.entries(KEYS)) {
            const valid = k.examples.filter((e) => k.ok(e, true));
            assert.ok(valid.length > 0, `${key}: no valid example`);
        }
    });

    for (const spec of specs) {
        const k = KEYS[spec.key];
        const runs = k?.runs ?? RUNS;
        it(`${spec.key}: refused with an error naming it, or accepted within its grammar (${runs} values)`, () => {
            const values =
                k.more === undefined
                    ? fc.oneof(anything, near(k.examples))
                    : fc.oneof(anything, near(k.examples), k.more);
            fuzz(
                fc.property(fc.tuple(values, fc.boolean()), ([value, asSecret]) => {
                    const secret = spec.secret === true || asSecret;
                    const config = { ...base(spec.key), [spec.key]: value };
                    const secretKeys = new Set(["tlsCert", "tlsKey", ...(secret ? [spec.key] : [])]);
                    let accepted: boolean;
                    try {
                        parseConfig(config, secretKeys);
                        accepted = true;
                    } catch (e) {
                        assert.ok(e instanceof ConfigError, `${spec.key}=${JSON.stringify(value)} threw ${String(e)}`);
                        for (const p of e.problems) {
                            assert.ok(p.includes(spec.key), `a problem that does not name ${spec.key}: ${p}`);
                            if (secret && value.trim().length >= 4) {
                                assert.ok(!p.includes(value), `the secret value is quoted: ${p}`);
                            }
                        }
                        accepted = false;
                    }
                    if (accepted && value !== "") {
                        assert.ok(
                            k.ok(value, secret),
                            `accepted outside the grammar: ${spec.key}=${JSON.stringify(value)}`,
                        );
                    }
                }),
                runs,
            );
        });
    }

    it("a key no declaration names, __proto__ included, is an error naming it (100 names)", () => {
        const declared = new Set(specs.map((s) => s.key));
        fuzz(
            fc.property(
                fc.oneof(
                    fc.constantFrom("__proto__", "constructor", "toString", "hots", "canaryWieght"),
                    fc.string({ maxLength: 24 }),
                ),
                (name) => {
                    fc.pre(!declared.has(name) && name !== "");
                    const config = Object.fromEntries([...Object.entries(base("app")), [name, "x"]]);
                    assert.throws(
                        () => parseConfig(config),
                        (e: unknown) =>
                            e instanceof ConfigError &&
                            e.problems.length === 1 &&
                            e.problems[0].startsWith(`istio-canary:${name} is not a config key of this program`),
                    );
                },
            ),
            100,
        );
    });
});

/**
 * The release bot's flags fuzzed: random flag sets (every flag, in both forms, repeated, empty, with junk and
 * near-misses of valid values) are refused with a usage error naming a flag, or accepted with every value within
 * the grammar its flag (or the config key it overrides) states.
 */
import * as assert from "assert";
import * as fc from "fast-check";
import * as path from "path";
import { parseArgs, UsageError } from "../../../stacks/cli/args";
import { PROMOTE_FLAGS } from "../../../stacks/cli/promote";
import { RELEASE_FLAGS, releaseOptionsFromFlags } from "../../../stacks/cli/release";
import { policyKeySpecs } from "../../../config/policy";
import { anything, KEYS, near } from "../../config/key-grammars";
import { FUZZ_SEED, fuzz } from "../../fuzz";

/** The config key each policy flag overrides. */
const KEY_OF = new Map(policyKeySpecs().flatMap((s) => (s.flag ? [[s.flag.name, s.key] as const] : [])));

const STACK = (v: string) => /^([A-Za-z0-9_.-]{1,100}\/){0,2}[A-Za-z0-9_.-]{1,100}$/.test(v);
const LOCAL_PATH = (v: string) =>
    v.trim() !== "" && v.length <= 4096 && ![...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);

/**
 * A flag's value is checked alone (the rules across keys run in preflight, with the stack's values): the grammar
 * of these keys without their bounds relative to other keys.
 */
/** A Prometheus duration of at most a day (bounds against other keys are checked with the stack's values). */
const PROM_DAY = (v: string) => {
    const m = /^(?=\d)(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(v);
    const units = [31536e6, 6048e5, 864e5, 36e5, 6e4, 1e3, 1];
    return m !== null && units.reduce((sum, u, i) => sum + Number(m[i + 1] ?? 0) * u, 0) <= 864e5;
};
const ALONE: Record<string, (v: string) => boolean> = {
    releaseMetricWindow: PROM_DAY,
    prometheusScrapeInterval: (v) => KEYS.prometheusTimeout.ok(v, false),
    releaseGates: (v) =>
        v.split(",").every((g) => /^\s*(complete|[1-9][0-9]?|100)\s*$/.test(g)) &&
        new Set(v.split(",").map((g) => g.trim())).size === v.split(",").length,
};

/** Valid values of the flags that override no key, to start near-misses from. */
const EXAMPLES: Record<string, string[]> = {
    stack: ["dev", "org/shop/prod"],
    "work-dir": [".", "/tmp/x"],
    image: ["registry.example.test/shop:2.0.0", `registry.example.test/shop@sha256:${"a1".repeat(32)}`],
    version: ["v2"],
    gate: ["50", "complete"],
    by: ["alice", "ci bot"],
    "wait-for-approval": ["30m"],
    "config-from": ["deployed", "checkout"],
    "step-size": ["10", "25"],
    "max-weight": ["50", "100"],
    "report-dir": ["reports"],
    "checks-file": ["/nonexistent/checks.json"],
};

const valueFor = (flag: string): fc.Arbitrary<string> => {
    const key = KEY_OF.get(flag);
    return fc.oneof(anything, near(key !== undefined ? KEYS[key].examples : (EXAMPLES[flag] ?? ["x"])));
};

/** One flag as given on the command line: `--x v`, `--x=v`, a switch, or a stray word. */
const token = (flags: typeof RELEASE_FLAGS): fc.Arbitrary<string[]> =>
    fc.oneof(
        {
            weight: 6,
            arbitrary: fc
                .constantFrom(...flags)
                .chain((f) =>
                    f.kind === "switch"
                        ? fc.constant<string[]>([`--${f.name}`])
                        : fc
                              .tuple(valueFor(f.name), fc.boolean())
                              .map(([v, eq]): string[] => (eq ? [`--${f.name}=${v}`] : [`--${f.name}`, v])),
                ),
        },
        {
            weight: 1,
            arbitrary: fc.oneof(anything, fc.constantFrom("--", "-s", "--STACK", "--stack=")).map((t): string[] => [t]),
        },
    );

const argvOf = (flags: typeof RELEASE_FLAGS) =>
    fc
        .tuple(fc.array(token(flags), { maxLength: 6 }), fc.oneof(valueFor("stack"), fc.constant("dev")), fc.boolean())
        .map(([ts, stack, withStack]) => [...(withStack ? ["--stack", stack] : []), ...ts.flat()]);

/** The flags an argv gives, by name (both forms). */
function given(argv: string[]): string[] {
    return argv.flatMap((a) => {
        const m = /^--([a-z][a-z0-9-]*)(=|$)/.exec(a);
        return m ? [m[1]] : [];
    });
}

/** The raw value of a value flag in an argv accepted as a whole (each flag once). */
function rawValue(argv: string[], flag: string): string | undefined {
    const i = argv.findIndex((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
    return i < 0 ? undefined : argv[i].includes("=") ? argv[i].slice(argv[i].indexOf("=") + 1) : argv[i + 1];
}

describe(`the release bot's flags fuzzed (seed ${FUZZ_SEED}: FUZZ_SEED=${FUZZ_SEED} replays it)`, () => {
    it("a flag given twice is refused, never the last one winning; an empty value is refused", () => {
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--stack", "prod"]), {
            message: "--stack is given twice; give it once",
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--resume", "--resume"]), {
            message: "--resume is given twice; give it once",
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", ""]), {
            message: "--stack needs a value <name>, not an empty one",
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--report-dir="]), {
            message: "--report-dir needs a value <dir>, not an empty one",
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--report-dir", " "]), {
            message: "--report-dir needs a value <dir>, not an empty one",
        });
        assert.throws(() => parseArgs(["--from", "dev", "--from", "staging"], PROMOTE_FLAGS), {
            message: "--from is given twice; give it once",
        });
    });

    it("a stack, image, version or path flag outside its grammar is refused, naming the flag", () => {
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev prod"]), {
            message:
                '--stack must be a stack name such as "dev" or "org/project/dev" (letters, digits, "-", "_" and ".", at most 3 parts); got "dev prod"',
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--image", "Reg/App:2"]), {
            message:
                '--image must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, ' +
                '"ghcr.io/org/app@sha256:<64 hex digits>"; got "Reg/App:2"',
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--version", "v 2"]), {
            message:
                '--version must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "v 2"',
        });
        assert.throws(() => releaseOptionsFromFlags(["--stack", "dev", "--report-dir", "a\u0000b"]), {
            message: '--report-dir must be a path (no control characters, at most 4096); got "a\\u0000b"',
        });
        const waves =
            '--to must be a stack name such as "dev" or "org/project/dev" (letters, digits, "-", "_" and ".", at most 3 ' +
            "parts), or several separated by commas, each named once (a wave per stack)";
        assert.throws(() => parseArgs(["--to", "prod/"], PROMOTE_FLAGS), { message: `${waves}; got "prod/"` });
        assert.throws(() => parseArgs(["--to", "prod-east,prod-east"], PROMOTE_FLAGS), {
            message: `${waves}; got "prod-east,prod-east"`,
        });
        assert.throws(() => parseArgs(["--to", "prod-east,"], PROMOTE_FLAGS), {
            message: `${waves}; got "prod-east,"`,
        });
        assert.deepStrictEqual(parseArgs(["--to", "prod-east,prod-west"], PROMOTE_FLAGS).values, {
            to: "prod-east,prod-west",
        });
    });

    it("random flag sets: a usage error naming a flag, or every value within its grammar (600 flag sets)", () => {
        fuzz(
            fc.property(argvOf(RELEASE_FLAGS), (argv) => {
                let opts: ReturnType<typeof releaseOptionsFromFlags>;
                try {
                    opts = releaseOptionsFromFlags(argv);
                } catch (e) {
                    assert.ok(e instanceof UsageError, `${JSON.stringify(argv)} threw ${String(e)}`);
                    for (const line of e.message.split("\n")) {
                        assert.match(line, /--[a-z]|^unexpected argument|^use either/, `names no flag: ${line}`);
                    }
                    return;
                }
                const names = given(argv);
                assert.strictEqual(
                    new Set(names).size,
                    names.length,
                    `a flag given twice was taken: ${JSON.stringify(argv)}`,
                );
                assert.ok(STACK(opts.stack), `stack ${JSON.stringify(opts.stack)}`);
                assert.ok(LOCAL_PATH(opts.reportDir), `report dir ${JSON.stringify(opts.reportDir)}`);
                assert.ok(path.isAbsolute(opts.workDir) && LOCAL_PATH(rawValue(argv, "work-dir") ?? "."));
                assert.ok(opts.image === undefined || KEYS.stableImage.ok(opts.image, false), `image ${opts.image}`);
                assert.ok(opts.version === undefined || KEYS.stableVersion.ok(opts.version, false));
                for (const flag of names) {
                    const key = KEY_OF.get(flag);
                    const raw =
                        RELEASE_FLAGS.find((f) => f.name === flag)?.kind === "value" ? rawValue(argv, flag) : undefined;
                    if (key !== undefined && raw !== undefined && !(flag === "checks-file")) {
                        const ok = ALONE[key] ?? ((v: string) => KEYS[key].ok(v, false));
                        assert.ok(ok(raw), `--${flag} ${JSON.stringify(raw)} taken for ${key}`);
                    }
                }
            }),
            600,
        );
    });

    it("random promote flag sets: parsed flags are each given once, with a value in its grammar (300 flag sets)", () => {
        fuzz(
            fc.property(argvOf(PROMOTE_FLAGS), (argv) => {
                let parsed: ReturnType<typeof parseArgs>;
                try {
                    parsed = parseArgs(argv, PROMOTE_FLAGS);
                } catch (e) {
                    assert.ok(e instanceof UsageError, `${JSON.stringify(argv)} threw ${String(e)}`);
                    assert.match(e.message, /--[a-z]|^unexpected argument/);
                    return;
                }
                const names = given(argv);
                assert.strictEqual(new Set(names).size, names.length);
                for (const [flag, v] of Object.entries(parsed.values)) {
                    assert.ok(v.trim() !== "", `--${flag} empty`);
                    if (flag === "from" || flag === "to") {
                        assert.ok(STACK(v), `--${flag} ${JSON.stringify(v)}`);
                    }
                }
            }),
            300,
        );
    });
});

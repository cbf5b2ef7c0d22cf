import * as assert from "assert";
import { parseArgs, UsageError } from "../../../stacks/cli/args";
import { main, RELEASE_FLAGS, releaseOptionsFromFlags, stepsFromSize } from "../../../stacks/cli/release";
import { main as promoteMain } from "../../../stacks/cli/promote";
import { main as devTlsMain } from "../../../stacks/cli/dev-tls";
import { requirePulumiCli } from "../../../stacks/automation/local-stack";
import { EXIT_CODE_TABLE, EXIT_CODES, exitCodeHelp } from "../../../stacks/release/result";

/** Runs a tool's main with stdout and stderr captured. */
async function capture(run: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    process.stdout.write = (c: string | Uint8Array) => out.push(String(c)) > 0;
    process.stderr.write = (c: string | Uint8Array) => err.push(String(c)) > 0;
    try {
        return { code: await run(), out: out.join(""), err: err.join("") };
    } finally {
        process.stdout.write = stdout;
        process.stderr.write = stderr;
    }
}

describe("command line", () => {
    it("parses values in both forms and switches, and rejects unknown flags", () => {
        const { values, switches } = parseArgs(["--stack", "dev", "--image=reg/app:2", "--resume"], RELEASE_FLAGS);
        assert.deepStrictEqual(values, { stack: "dev", image: "reg/app:2" });
        assert.deepStrictEqual([...switches], ["resume"]);
        assert.throws(() => parseArgs(["--stak", "dev"], RELEASE_FLAGS), {
            message: "unknown flag --stak; see --help for the flags",
        });
        assert.throws(() => parseArgs(["--stack"], RELEASE_FLAGS), { message: "--stack needs a value <name>" });
        assert.throws(() => parseArgs(["--resume=yes"], RELEASE_FLAGS), { message: "--resume takes no value" });
        assert.throws(() => parseArgs(["dev"], RELEASE_FLAGS), UsageError);
    });

    it("maps policy flags onto the policy, reporting problems under the flag's name", () => {
        const opts = releaseOptionsFromFlags([
            "--stack",
            "prod",
            "--image",
            "reg/app:2",
            "--steps",
            "5,50,100",
            "--interval",
            "2m",
            "--no-data",
            "hold",
            "--header-phase",
        ]);
        assert.deepStrictEqual(opts.policy, { steps: [5, 50, 100], interval: "2m", noData: "hold", headerPhase: true });
        assert.strictEqual(opts.stack, "prod");
        assert.throws(() => releaseOptionsFromFlags(["--stack", "prod", "--steps", "50,20"]), {
            message:
                '--steps must be a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "50,20"',
        });
        assert.throws(
            () => releaseOptionsFromFlags(["--stack", "prod", "--no-data", "skip", "--failure-threshold", "0"]),
            {
                message: [
                    '--failure-threshold must be an integer from 1 to 100; got "0"',
                    '--no-data must be one of fail, hold, pass; got "skip"',
                ].join("\n"),
            },
        );
        assert.throws(() => releaseOptionsFromFlags(["--image", "x"]), {
            message: "--stack is required: the stack to release on, e.g. --stack dev",
        });
    });

    it("builds Flagger-style steps from a step size and a maximum weight", () => {
        assert.strictEqual(stepsFromSize(10, 50), "10,20,30,40,50,100");
        assert.strictEqual(stepsFromSize(25, 100), "25,50,75,100");
        assert.deepStrictEqual(
            releaseOptionsFromFlags(["--stack", "s", "--step-size", "20"]).policy?.steps,
            [20, 40, 100],
        );
        assert.throws(() => releaseOptionsFromFlags(["--stack", "s", "--step-size", "0"]), {
            message: '--step-size must be an integer from 1 to 99; got "0"',
        });
    });

    it("rejects flags that are ignored or meaningless", () => {
        const flags =
            (...a: string[]) =>
            () =>
                releaseOptionsFromFlags(["--stack", "s", ...a]);
        assert.throws(flags("--step-size", "0x10"), {
            message: '--step-size must be an integer from 1 to 99; got "0x10"',
        });
        assert.throws(flags("--step-size", "1e1"), {
            message: '--step-size must be an integer from 1 to 99; got "1e1"',
        });
        assert.throws(flags("--max-weight", "40"), {
            message: "--max-weight needs --step-size (with --steps, list the weights instead)",
        });
        assert.throws(flags("--step-size", "60"), {
            message: '--max-weight must be an integer from --step-size to 100; got "50" (the default)',
        });
        assert.throws(flags("--resume", "--version", "v2"), {
            message: "--version cannot be used with --resume: the release in progress has its version",
        });
        assert.throws(flags("--resume", "--steps", "50,100"), {
            message: "--steps and --step-size cannot be used with --resume: the release keeps its steps",
        });
        assert.throws(flags("--config-from", "git"), {
            message: '--config-from must be one of deployed, checkout; got "git"',
        });
        assert.throws(flags("--interval", "1m1m"), {
            message:
                '--interval must be a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first), from 10s to 24h; got "1m1m"',
        });
        assert.throws(flags("--interval", "5s"), { message: '--interval must be at least 10s; got "5s"' });
        assert.throws(flags("--prometheus-url", "http://u:s3cr3tpw@prom:9090"), (e: Error) => {
            assert.match(e.message, /^--prometheus-url must not contain credentials \(http:\/\/\*\*\*@prom:9090\)/);
            assert.ok(!e.message.includes("s3cr3tpw"));
            return true;
        });
        assert.deepStrictEqual(flags("--config-from", "deployed", "--take-over")(), {
            ...flags("--config-from", "deployed", "--take-over")(),
            configFrom: "deployed",
            takeOver: true,
        });
    });

    it("bad flags are reported before the stack is opened or Prometheus asked (exit 2, one line)", async () => {
        const r = await capture(() => main(["--stack", "nowhere", "--work-dir", "/nonexistent", "--interval", "1x"]));
        assert.strictEqual(r.code, EXIT_CODES.usage);
        assert.match(r.err, /^error: --interval must be a Prometheus duration/);
    });

    it("promote's waves: --to naming --from, and --approve with several stacks, are refused before any stack is read", async () => {
        const path = process.env.PATH;
        process.env.PATH = "/nonexistent"; // no Pulumi CLI: a refusal that got past the flags would say so instead
        try {
            const loop = await capture(() => promoteMain(["--from", "staging", "--to", "prod-east,staging"]));
            assert.deepStrictEqual(
                [loop.code, loop.err],
                [2, "error: --to names --from (staging): a stack cannot be promoted from itself\n"],
            );
            const approve = await capture(() =>
                promoteMain(["--approve", "--from", "staging", "--to", "prod-east,prod-west", "--version", "v2"]),
            );
            assert.deepStrictEqual(
                [approve.code, approve.err],
                [2, "error: --approve records an approval on one stack: give --to a single stack\n"],
            );
        } finally {
            process.env.PATH = path;
        }
    });

    it("without the Pulumi CLI on PATH, release, promote and dev:tls say how to get it in one line", async () => {
        assert.throws(() => requirePulumiCli({ PATH: "/nonexistent" }), {
            name: "PulumiCliMissingError",
            message:
                'the Pulumi CLI is not on PATH; put the project\'s toolchain there first: eval "$(scripts/env.sh)"',
        });
        const path = process.env.PATH;
        process.env.PATH = "/nonexistent";
        try {
            for (const run of [
                () => main(["--stack", "dev", "--image", "reg/app:2"]),
                () => promoteMain(["--from", "dev", "--to", "staging"]),
                () => devTlsMain(["--stack", "dev"]),
            ]) {
                const r = await capture(run);
                assert.strictEqual(r.code, 2);
                assert.strictEqual(
                    r.err,
                    'error: the Pulumi CLI is not on PATH; put the project\'s toolchain there first: eval "$(scripts/env.sh)"\n',
                );
            }
        } finally {
            process.env.PATH = path;
        }
    });

    it("exit codes: one table, distinct codes, and the help generated from it", async () => {
        const codes = EXIT_CODE_TABLE.map((e) => e.code);
        assert.strictEqual(new Set(codes).size, codes.length, "distinct");
        for (const name of [
            "unhealthy",
            "metrics-unusable",
            "interrupted",
            "paused-before-traffic",
            "paused-after-traffic",
        ]) {
            assert.ok(
                EXIT_CODE_TABLE.some((e) => e.name === name),
                name,
            );
        }
        const help = (await capture(() => main(["--help"]))).out;
        assert.ok(help.includes(exitCodeHelp()));
        for (const e of EXIT_CODE_TABLE) {
            assert.ok(help.replace(/\n/g, " ").includes(`${e.code} ${e.help}`), e.name);
        }
    });
});

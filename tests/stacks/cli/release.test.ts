import * as assert from "assert";
import { parseArgs, UsageError } from "../../../stacks/cli/args";
import { RELEASE_FLAGS, releaseOptionsFromFlags, stepsFromSize } from "../../../stacks/cli/release";

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
});

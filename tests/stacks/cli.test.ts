import * as assert from "assert";
import { parseArgs, UsageError } from "../../stacks/cli-args";
import { RELEASE_FLAGS, releaseOptionsFromFlags, stepsFromSize } from "../../stacks/release/cli";
import { classify } from "../../stacks/release/prometheus";
import { renderChart, renderMarkdown } from "../../stacks/release/report";
import { ReleaseResult } from "../../stacks/release/release";
import { parseReleaseConfig } from "../../components/config";

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

describe("release report", () => {
    const { policy } = parseReleaseConfig({});
    const result: ReleaseResult = {
        stack: "dev",
        image: "reg/app:2",
        version: "v2",
        outcome: "rolled-back",
        reason: "2 failed analyses",
        startedAt: "2026-11-30T10:00:00.000Z",
        finishedAt: "2026-11-30T10:03:00.000Z",
        policy,
        events: [
            { time: "2026-11-30T10:00:00.000Z", kind: "start", weight: 0, message: "canary deployed" },
            { time: "2026-11-30T10:01:00.000Z", kind: "shift", weight: 25, message: "shifted" },
            {
                time: "2026-11-30T10:02:00.000Z",
                kind: "analysis",
                weight: 25,
                verdict: "fail",
                message: "",
                checks: [
                    {
                        name: "success-rate",
                        value: 80,
                        verdict: "fail",
                        min: 99,
                        unit: "%",
                        reason: "below the minimum 99",
                    },
                    { name: "latency-p99", value: 120, verdict: "pass", max: 500, unit: "ms" },
                ],
            },
            { time: "2026-11-30T10:03:00.000Z", kind: "rollback", weight: 0, message: "traffic back on stable" },
        ],
    };

    it("Markdown: outcome, reason, chart and a row per event with each check", () => {
        const md = renderMarkdown(result, "chart.svg");
        assert.ok(md.startsWith("# Release v2 on stack dev: rolled-back\n"));
        assert.ok(md.includes("![weight, success rate and latency over time](chart.svg)"));
        assert.ok(
            md.includes(
                "| 2026-11-30T10:02:00.000Z | analysis |  | 25 | fail | success-rate=80% (min 99) fail: below the minimum 99<br>latency-p99=120ms (max 500) pass |",
            ),
        );
        assert.strictEqual(md.split("\n").filter((l) => l.startsWith("| 2026")).length, 4);
    });

    it("SVG: deterministic, with the three series", () => {
        const svg = renderChart(result);
        assert.strictEqual(svg, renderChart(result));
        assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
        assert.strictEqual((svg.match(/<path d="M/g) ?? []).length, 3, "weight, success rate and latency lines");
        // The weight steps up to 25 at minute 1 and back to 0 at minute 3 (the right edge).
        assert.match(svg, /<path d="M50\.0,304\.0H253\.3V244\.0H456\.7V244\.0H660\.0V304\.0"/);
    });
});

import * as assert from "assert";
import { parsePolicy } from "../../../config/policy";
import { renderChart, renderMarkdown } from "../../../stacks/release/report";
import { publicPolicy, ReleaseResult } from "../../../stacks/release/result";

describe("release report", () => {
    const policy = publicPolicy(parsePolicy({}));
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

    it("SVG: the three series where the events put them", () => {
        const svg = renderChart(result);
        assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
        const paths = [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
        assert.deepStrictEqual(paths, [
            // The weight steps up to 25 at minute 1 and back to 0 at minute 3 (the right edge).
            "M50.0,304.0H253.3V244.0H456.7V244.0H660.0V304.0",
            // Success rate 80% at minute 2: 304 - 0.8 * 240.
            "M456.7,112.0",
            // p99 120 ms at minute 2 on the right axis, whose top is 110% of the largest latency: 304 - 240 / 1.1.
            "M456.7,85.8",
        ]);
        assert.strictEqual(renderChart(JSON.parse(JSON.stringify(result)) as ReleaseResult), svg, "deterministic");
    });
});

/** Where a resumed release picks up, how each stage is described, and the analysis's edges (exact values). */
import * as assert from "assert";
import { parsePolicy } from "../../../config/policy";
import { analyse, describeCheck, judge, verdictOf } from "../../../stacks/release/analysis";
import { imageTag } from "../../../components/validation";
import { describeStage, planStages, resumeStages } from "../../../stacks/release/plan";
import { MetricsSource, QueryResult } from "../../../stacks/release/prometheus";

const policy = parsePolicy({ releaseSteps: "10,50,100", releaseMirrorPercent: "20", releaseHeaderPhase: "true" });
const stages = planStages(policy);

describe("resumeStages", () => {
    it("a completed phase leaves nothing to run", () => {
        assert.deepStrictEqual(resumeStages(stages, "complete", 100), []);
    });

    it("steps at weight 0 had not shifted yet: the whole plan", () => {
        assert.deepStrictEqual(resumeStages(stages, "steps", 0), stages);
    });

    it("picks up at the stage it was in, the first stage included", () => {
        assert.deepStrictEqual(resumeStages(stages, "mirror", 0), stages);
        assert.deepStrictEqual(resumeStages(stages, "header", 0), stages.slice(1));
        assert.deepStrictEqual(resumeStages(stages, "steps", 50), [
            { phase: "steps", weight: 50 },
            { phase: "steps", weight: 100 },
        ]);
    });

    it("a weight that is no longer a step becomes a stage of its own, followed by the larger steps", () => {
        assert.deepStrictEqual(resumeStages(stages, "steps", 30), [
            { phase: "steps", weight: 30 },
            { phase: "steps", weight: 50 },
            { phase: "steps", weight: 100 },
        ]);
        assert.deepStrictEqual(resumeStages(stages, "steps", 10).length, 3, "10 is a step: picked up there");
    });
});

describe("describeStage and imageTag", () => {
    it("says what each stage does", () => {
        assert.deepStrictEqual(
            stages.map((s) => describeStage(s, policy)),
            [
                "mirror phase: 20% of traffic mirrored to the canary",
                "header phase: only requests with the canary header reach the canary",
                "shifted: stable 90 / canary 10",
                "shifted: stable 50 / canary 50",
                "shifted: stable 0 / canary 100",
            ],
        );
    });

    it("finds the tag after the last slash only", () => {
        assert.strictEqual(imageTag("reg:5000/a:b/shop:2.0"), "2.0");
    });
});

describe("analysis edges", () => {
    const value = (v: number): QueryResult => ({ kind: "value", value: v });

    it("a value equal to the minimum or the maximum passes", () => {
        assert.strictEqual(judge({ name: "sr", query: "", min: 99 }, value(99)).verdict, "pass");
        assert.strictEqual(judge({ name: "p99", query: "", max: 500 }, value(500)).verdict, "pass");
        assert.strictEqual(judge({ name: "sr", query: "", min: 99 }, value(98.99)).verdict, "fail");
        assert.strictEqual(judge({ name: "p99", query: "", max: 500 }, value(500.01)).verdict, "fail");
    });

    it("one check without data is enough for the no-data policy", () => {
        const results = [
            { name: "a", verdict: "pass" as const, value: 1 },
            { name: "b", verdict: "no-data" as const },
        ];
        assert.strictEqual(verdictOf(results, "hold", 0, 3), "hold");
        assert.strictEqual(verdictOf(results, "hold", 3, 3), "fail");
        assert.strictEqual(verdictOf(results, "pass", 0, 3), "pass");
    });

    it("describeCheck: exact text, a reason only when not passing", () => {
        assert.strictEqual(
            describeCheck({
                name: "sr",
                value: 98.5,
                verdict: "fail",
                reason: "below the minimum 99",
                min: 99,
                max: 100,
            }),
            "sr=98.50 (min 99, max 100) fail: below the minimum 99",
        );
        assert.strictEqual(
            describeCheck({ name: "sr", value: 100, verdict: "pass", reason: "ignored" }),
            "sr=100 pass",
        );
        assert.strictEqual(describeCheck({ name: "sr", verdict: "no-data" }), "sr=- no-data");
    });

    it("with a minimum request count, too few requests is no data for every check; enough runs the checks", async () => {
        const p = parsePolicy({ releaseMinRequests: "10", releaseNoData: "fail" });
        const target = { namespace: "shop", workload: "shop-canary", version: "v2" };
        const source = (count: QueryResult): MetricsSource & { queries: string[] } => {
            const queries: string[] = [];
            return {
                queries,
                query: (q) => {
                    queries.push(q);
                    return Promise.resolve(queries.length === 1 ? count : value(100));
                },
                ping: () => Promise.resolve(),
            };
        };
        const few = source(value(3));
        const a = await analyse(few, [{ name: "sr", query: "q", min: 99 }], p, target, 0);
        assert.deepStrictEqual(
            a.checks.map((c) => [c.name, c.verdict, c.reason]),
            [["request-count", "no-data", "3 requests, fewer than the minimum 10"]],
        );
        assert.strictEqual(a.verdict, "fail");
        assert.strictEqual(few.queries.length, 1, "the checks are not queried");

        const broken = await analyse(source({ kind: "error", reason: "boom" }), [], p, target, 0);
        assert.deepStrictEqual(
            broken.checks.map((c) => [c.verdict, c.reason]),
            [["error", "boom"]],
        );
        assert.strictEqual(broken.verdict, "error");

        const enough = source(value(10));
        const b = await analyse(enough, [{ name: "sr", query: "q", min: 99 }], p, target, 0);
        assert.deepStrictEqual(
            b.checks.map((c) => [c.name, c.verdict]),
            [
                ["request-count", "pass"],
                ["sr", "pass"],
            ],
        );
        assert.strictEqual(b.verdict, "pass");
    });
});

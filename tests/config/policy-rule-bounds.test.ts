import * as assert from "assert";
import { parsePolicy, policyProblems } from "../../config/policy";
import { redactUrl } from "../../components/redact";
import { durationMs, PolicyUnderRules, policyTimes } from "../../config/policy-rules";
import { DURATION, policyConfigProblems } from "./policy-problems";

const problems = policyConfigProblems;
const OVERFLOW = "(a longer wait overflows a timer)";

/** A policy the rules accept; tests change one field. */
const BASE: PolicyUnderRules = {
    interval: "1m",
    metricWindow: "1m",
    scrapeInterval: "15s",
    prometheusTimeout: "10s",
    checks: [],
    steps: [10, 25, 50, 100],
    gates: [],
    hookConfirmLimit: "1h",
    loadTimeout: "5s",
};

describe("release policy rules: bounds, units and the keys each rule reads (exact messages)", () => {
    it("every duration is at most 24h, named by its own key", () => {
        assert.deepStrictEqual(problems({ releaseInterval: "24h", releaseMetricWindow: "1m" }), []);
        const keys = [
            "releaseMetricWindow",
            "prometheusScrapeInterval",
            "prometheusTimeout",
            "releaseHookConfirmLimit",
            "releaseLoadTimeout",
        ];
        assert.deepStrictEqual(
            policyProblems({
                ...BASE,
                metricWindow: "25h",
                scrapeInterval: "25h",
                prometheusTimeout: "25h",
                hookConfirmLimit: "25h",
                loadTimeout: "25h",
            }),
            keys.map((k) => `${k} must be at most 24h ${OVERFLOW}; got "25h"`),
        );
        assert.deepStrictEqual(policyProblems({ ...BASE, interval: "soon" }), [
            `releaseInterval must be ${DURATION}; got "soon"`,
        ]);
    });

    it("two scrape intervals are shown in the largest unit that divides them", () => {
        const twice = (scrape: string, window: string) =>
            `releaseMetricWindow must be at least two scrape intervals (2 x prometheusScrapeInterval ${scrape} = ` +
            `${window}), or rate() has too few samples; got "50s"`;
        assert.deepStrictEqual(problems({ prometheusScrapeInterval: "30s", releaseMetricWindow: "50s" }), [
            twice("30s", "1m"),
        ]);
        assert.deepStrictEqual(problems({ prometheusScrapeInterval: "45s", releaseMetricWindow: "50s" }), [
            twice("45s", "90s"),
        ]);
        assert.deepStrictEqual(problems({ prometheusScrapeInterval: "26250ms", releaseMetricWindow: "50s" }), [
            twice("26250ms", "52500ms"),
        ]);
    });

    it("timeouts at their bounds: 1s for Prometheus and confirm hooks, 100ms to 1m for load", () => {
        assert.deepStrictEqual(
            problems({ prometheusTimeout: "1s", releaseHookConfirmLimit: "1s", releaseLoadTimeout: "100ms" }),
            [],
        );
        assert.deepStrictEqual(problems({ releaseLoadTimeout: "1m" }), []);
        assert.deepStrictEqual(problems({ releaseLoadTimeout: "99ms" }), [
            'releaseLoadTimeout must be from 100ms to 1m; got "99ms"',
        ]);
    });

    it("a gate that is not a step is named in the singular", () => {
        assert.deepStrictEqual(problems({ releaseGates: "30" }), [
            'releaseGates: 30 is not a step of releaseSteps (10,25,50,100); a gate is a step\'s weight or "complete"',
        ]);
    });

    it("a check's minimum may equal its maximum, not exceed it", () => {
        const checks = (min: number, max: number) => JSON.stringify([{ name: "errors", query: "sum(x)", min, max }]);
        assert.deepStrictEqual(problems({ releaseChecks: checks(1, 2) }), []);
        assert.deepStrictEqual(problems({ releaseChecks: checks(1, 1) }), []);
    });

    it("with the keys given (the bot's flags), a rule runs only when every key it reads is given", () => {
        assert.deepStrictEqual(policyProblems({ ...BASE, interval: "5s" }, new Set(["releaseSteps"])), []);
        assert.deepStrictEqual(policyProblems({ ...BASE, interval: "5s" }, new Set(["releaseInterval"])), [
            'releaseInterval must be at least 10s; got "5s"',
        ]);
        assert.deepStrictEqual(problems({ releaseMetricWindow: "2m" }, true), []);
        assert.deepStrictEqual(problems({ releaseMetricWindow: "2m", releaseInterval: "1m" }, true), [
            "releaseMetricWindow must be no longer than releaseInterval (1m), or an analysis counts traffic from " +
                'before the shift; got "2m"',
        ]);
        assert.deepStrictEqual(problems({ releaseMetricWindow: "20s", prometheusScrapeInterval: "15s" }, true), [
            "releaseMetricWindow must be at least two scrape intervals (2 x prometheusScrapeInterval 15s = 30s), " +
                'or rate() has too few samples; got "20s"',
        ]);
        assert.deepStrictEqual(problems({ releaseGates: "30", releaseSteps: "10,50,100" }, true), [
            'releaseGates: 30 is not a step of releaseSteps (10,50,100); a gate is a step\'s weight or "complete"',
        ]);
        const checks = [
            { name: "errors", query: "sum(x)", min: 2, max: 1 },
            { name: "latency-p99", query: "sum(y)", max: 1 },
        ];
        assert.deepStrictEqual(problems({ releaseChecks: JSON.stringify(checks) }, true), [
            'releaseChecks: check "errors" has min 2 above its max 1; it could never pass',
            'releaseChecks: the check name "latency-p99" is used twice (it is a built-in check); names must be unique',
        ]);
    });

    it("credentials in a Prometheus URL's query are not its own", () => {
        const url = "http://prom.example.com:9090/?next=http://a@b.example.com/";
        assert.strictEqual(parsePolicy({ prometheusUrl: url }).prometheusUrl, url);
    });

    it("redaction hides user information wherever a URL in the text carries it", () => {
        assert.strictEqual(redactUrl(" http://u:pw@h.example.com/"), " http://***@h.example.com/");
        assert.strictEqual(
            redactUrl("http://h.example.com/?a=ftp://u:pw@x&b=http://v:q@y"),
            "http://h.example.com/?a=***&b=***",
        );
        assert.deepStrictEqual(problems({ prometheusUrl: " http://u:pw@prom.example.com/" }), [
            'prometheusUrl must be an http(s):// URL with a host (no spaces, credentials or fragment, at most 2048); got " http://***@prom.example.com/"',
        ]);
    });
});

describe("release policy: durations in milliseconds, parsed once", () => {
    it("a checked duration is its milliseconds; text that is not one is a bug, said as such", () => {
        assert.strictEqual(durationMs("1h2m3s4ms"), 3_723_004);
        assert.throws(() => durationMs("1m1m"), {
            message: '"1m1m" is not a Prometheus duration: it was used before it was checked',
        });
    });

    it("a policy's waits and timeouts, each from its own key", () => {
        const p = parsePolicy({
            releaseInterval: "2m",
            releaseMetricWindow: "1m",
            prometheusTimeout: "3s",
            releaseHookConfirmLimit: "4m",
            releaseLoadTimeout: "500ms",
        });
        assert.deepStrictEqual(policyTimes(p), {
            intervalMs: 120_000,
            prometheusTimeoutMs: 3000,
            hookConfirmLimitMs: 240_000,
            loadTimeoutMs: 500,
        });
    });
});

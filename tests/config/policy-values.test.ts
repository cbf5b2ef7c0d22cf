import * as assert from "assert";
import { parsePolicy, parseSteps } from "../../config/policy";
import { policyConfigProblems as problems } from "./policy-problems";

const CHECKS_ACCEPTS =
    'a JSON array of {"name" (lower-case letters, digits and "-", at most 63), "query" (PromQL: no control ' +
    'characters but tab and newline, at most 8192), "min" and/or "max" (numbers)}';

describe("release policy values: steps, checks, URL and the rules across keys (exact results)", () => {
    it("steps: increasing integers from 1 to 100 ending at 100, whitespace around each allowed", () => {
        assert.deepStrictEqual(parseSteps("10,25,50,100"), [10, 25, 50, 100]);
        assert.deepStrictEqual(parseSteps(" 10 , 50 ,\t100 "), [10, 50, 100]);
        assert.deepStrictEqual(parseSteps("1,100"), [1, 100]);
        assert.deepStrictEqual(parseSteps("100"), [100]);
        // Not integers: a fraction, an exponent, hex, a sign, garbage before or after.
        for (const bad of ["10.5,100", "10,1e2", "0x10,100", "+10,100", "x10,100", "10,100x", "10,,100", "", " "]) {
            assert.strictEqual(parseSteps(bad), undefined, bad);
        }
        // Out of range or not increasing.
        for (const bad of ["0,100", "10,5,100", "50,50,100", "10,50", "100,150"]) {
            assert.strictEqual(parseSteps(bad), undefined, bad);
        }
        assert.deepStrictEqual(problems({ releaseSteps: "10.5,100" }), [
            'releaseSteps must be a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "10.5,100"',
        ]);
    });

    it("checks: accepted as given when each has a name, a query and min and/or max", () => {
        const list = [
            { name: "app-errors", query: "sum(rate(errors[1m]))", max: 1 },
            { name: "0rps", query: "sum(rate(x[1m]))", min: 0 },
            { name: "band", query: "q", min: 1, max: 2.5 },
        ];
        assert.deepStrictEqual(parsePolicy({ releaseChecks: JSON.stringify(list) }).checks, list);
        assert.deepStrictEqual(parsePolicy({}).checks, []);
    });

    it("checks: every malformed list is rejected with the raw text quoted", () => {
        const ok = { name: "errors", query: "q", max: 1 };
        const bad: unknown[] = [
            { ...ok, extra: 1 },
            { ...ok, name: 5 },
            { ...ok, name: "-errors" },
            { ...ok, name: "errors!" },
            { ...ok, name: "Errors" },
            { ...ok, query: 5 },
            { ...ok, query: " \t" },
            { ...ok, max: "1" },
            { name: "errors", query: "q" },
            { name: "errors", query: "q", min: null },
            null,
            5,
            "errors",
            [ok],
        ];
        for (const item of bad) {
            const raw = JSON.stringify([ok, item]);
            assert.deepStrictEqual(
                problems({ releaseChecks: raw }),
                [`releaseChecks must be ${CHECKS_ACCEPTS}; got ${JSON.stringify(raw)}`],
                raw,
            );
        }
        // JSON's overflow to Infinity is not a finite bound.
        const infinite = `[{"name":"errors","query":"q","max":1e999}]`;
        assert.deepStrictEqual(problems({ releaseChecks: infinite }), [
            `releaseChecks must be ${CHECKS_ACCEPTS}; got ${JSON.stringify(infinite)}`,
        ]);
        for (const raw of ['{"name":"errors","query":"q","max":1}', "not json", "null"]) {
            assert.deepStrictEqual(problems({ releaseChecks: raw }), [
                `releaseChecks must be ${CHECKS_ACCEPTS}; got ${JSON.stringify(raw)}`,
            ]);
        }
    });

    it("prometheusUrl: the whole value must be an http(s) URL without spaces", () => {
        const url = "https://prom.example.test:9090/api";
        assert.strictEqual(parsePolicy({ prometheusUrl: url }).prometheusUrl, url);
        assert.strictEqual(parsePolicy({}).prometheusUrl, undefined);
        for (const bad of ["http://prom:9090 x", "see http://prom:9090", "prom:9090"]) {
            assert.deepStrictEqual(problems({ prometheusUrl: bad }), [
                `prometheusUrl must be an http(s):// URL with a host (no spaces, credentials or fragment, at most 2048); got ${JSON.stringify(bad)}`,
            ]);
        }
    });

    it("a threshold of 0 turns its check off; any other value keeps it", () => {
        const off = parsePolicy({ releaseMinSuccessRate: "0", releaseMaxLatencyMs: "0" });
        assert.deepStrictEqual([off.minSuccessRate, off.maxLatencyMs], [undefined, undefined]);
        const on = parsePolicy({ releaseMinSuccessRate: "0.5", releaseMaxLatencyMs: "1" });
        assert.deepStrictEqual([on.minSuccessRate, on.maxLatencyMs], [0.5, 1]);
        const defaults = parsePolicy({});
        assert.deepStrictEqual([defaults.minSuccessRate, defaults.maxLatencyMs], [99, 500]);
    });

    it("a policy pack config needs its policy pack; a Prometheus user needs a password", () => {
        assert.deepStrictEqual(problems({ releasePolicyPackConfig: "prod-policies.json" }), [
            "releasePolicyPackConfig needs releasePolicyPack (the policy pack it configures)",
        ]);
        const pack = parsePolicy({ releasePolicyPack: "policies", releasePolicyPackConfig: "prod-policies.json" });
        assert.deepStrictEqual([pack.policyPack, pack.policyPackConfig], ["policies", "prod-policies.json"]);
        assert.deepStrictEqual(problems({ prometheusUser: "bot" }), [
            "prometheusUser needs prometheusPassword (set it with --secret)",
        ]);
        const auth = parsePolicy({ prometheusUser: "bot", prometheusPassword: "pw" }, new Set(["prometheusPassword"]));
        assert.deepStrictEqual([auth.prometheusUser, auth.prometheusPassword], ["bot", "pw"]);
    });

    it("the rules across keys run only when every key is valid on its own", () => {
        // releaseInterval "5s" breaks a rule across keys (at least 10s) but is a valid duration on its own.
        assert.deepStrictEqual(problems({ releaseInterval: "5s", releaseMetricWindow: "5s" }), [
            'releaseInterval must be at least 10s; got "5s"',
            'releaseMetricWindow must be at least two scrape intervals (2 x prometheusScrapeInterval 15s = 30s), or rate() has too few samples; got "5s"',
        ]);
        assert.deepStrictEqual(
            problems({ releaseInterval: "5s", releaseMetricWindow: "5s", releaseFailureThreshold: "0" }),
            ['releaseFailureThreshold must be an integer from 1 to 100; got "0"'],
        );
    });
});

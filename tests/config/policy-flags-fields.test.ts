import * as assert from "assert";
import { parsePolicy, policyKeySpecs, ReleasePolicy } from "../../config/policy";

/**
 * Every key of config/policy.ts set to a value other than its default, with the value the policy gets. The bot
 * copies a flag's value to the policy property its key's `field` names (stacks/cli/release.ts), so each field must
 * name the property the key fills.
 */
const SET: Record<string, [string, unknown]> = {
    releaseSteps: ["20,100", [20, 100]],
    releaseInterval: ["2m", "2m"],
    releaseMetricWindow: ["2m", "2m"],
    releaseFailureThreshold: ["3", 3],
    releaseMinSuccessRate: ["95.5", 95.5],
    releaseMaxLatencyMs: ["250", 250],
    releaseChecks: ['[{"name":"errors","query":"q","max":1}]', [{ name: "errors", query: "q", max: 1 }]],
    releaseNoData: ["hold", "hold"],
    releaseHoldLimit: ["5", 5],
    releaseMinRequests: ["10", 10],
    releaseErrorLimit: ["2", 2],
    releaseMirrorPercent: ["20", 20],
    releaseHeaderPhase: ["true", true],
    releaseRollback: ["update", "update"],
    prometheusUrl: ["http://prom.example.test:9090", "http://prom.example.test:9090"],
    prometheusTimeout: ["30s", "30s"],
    prometheusScrapeInterval: ["30s", "30s"],
    prometheusUser: ["bot", "bot"],
    prometheusPassword: ["pw", "pw"],
    prometheusToken: ["tok", "tok"],
    releasePolicyPack: ["policies", "policies"],
    releasePolicyPackConfig: ["policies.json", "policies.json"],
};

describe("release policy keys: the policy property and the bot flag of each", () => {
    it("each key's field names the policy property it fills", () => {
        const raw = Object.fromEntries(Object.entries(SET).map(([k, [text]]) => [k, text]));
        const policy = parsePolicy(raw, new Set(["prometheusPassword", "prometheusToken"]));
        const defaults = parsePolicy({});
        const specs = policyKeySpecs().filter((s) => s.key in SET);
        assert.deepStrictEqual(
            specs.map((s) => s.key),
            Object.keys(SET),
        );
        for (const spec of specs) {
            const property = spec.field?.replace(/^policy\./, "") as keyof ReleasePolicy;
            assert.strictEqual(spec.field, `policy.${property}`, spec.key);
            assert.deepStrictEqual(policy[property], SET[spec.key][1], spec.key);
            assert.notDeepStrictEqual(defaults[property], SET[spec.key][1], spec.key);
        }
    });

    it("the bot's policy flags, with their placeholders", () => {
        const flags = policyKeySpecs()
            .filter((s) => s.key in SET)
            .map((s) => [s.key, s.flag]);
        assert.deepStrictEqual(flags, [
            ["releaseSteps", { name: "steps", arg: "<list>" }],
            ["releaseInterval", { name: "interval", arg: "<duration>" }],
            ["releaseMetricWindow", { name: "metric-window", arg: "<duration>" }],
            ["releaseFailureThreshold", { name: "failure-threshold", arg: "<n>" }],
            ["releaseMinSuccessRate", { name: "min-success-rate", arg: "<percent>" }],
            ["releaseMaxLatencyMs", { name: "max-latency-ms", arg: "<ms>" }],
            ["releaseChecks", { name: "checks-file", arg: "<file>", file: true }],
            ["releaseNoData", { name: "no-data", arg: "fail|hold|pass" }],
            ["releaseHoldLimit", { name: "hold-limit", arg: "<n>" }],
            ["releaseMinRequests", { name: "min-requests", arg: "<n>" }],
            ["releaseErrorLimit", { name: "error-limit", arg: "<n>" }],
            ["releaseMirrorPercent", { name: "mirror-percent", arg: "<percent>" }],
            ["releaseHeaderPhase", { name: "header-phase" }],
            ["releaseRollback", { name: "rollback", arg: "fast|update" }],
            ["prometheusUrl", { name: "prometheus-url", arg: "<url>" }],
            ["prometheusTimeout", { name: "prometheus-timeout", arg: "<duration>" }],
            ["prometheusScrapeInterval", { name: "scrape-interval", arg: "<duration>" }],
            ["prometheusUser", undefined],
            ["prometheusPassword", undefined],
            ["prometheusToken", undefined],
            ["releasePolicyPack", { name: "policy-pack", arg: "<dir>" }],
            ["releasePolicyPackConfig", { name: "policy-pack-config", arg: "<file>" }],
        ]);
    });
});

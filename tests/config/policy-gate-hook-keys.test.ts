import * as assert from "assert";
import { parsePolicy, policyKeySpecs } from "../../config/policy";
import { parseGates, readGates } from "../../config/policy-gates";
import { Reader } from "../../config/reader";

describe("release policy: gate, promotion, hook and load keys (fields, flags, gate lists)", () => {
    it("each key names the policy field it fills and the bot's flag that overrides it", () => {
        const keys = [
            "releaseGates",
            "promotionSoakTime",
            "promotionRequireApproval",
            "releaseHooks",
            "releaseHookSecret",
            "releaseHookConfirmLimit",
            "releaseLoadUrl",
            "releaseLoadRate",
            "releaseLoadMaxRequests",
            "releaseLoadTimeout",
            "releaseLoadCanaryHeader",
        ];
        const specs = policyKeySpecs().filter((s) => keys.includes(s.key));
        assert.deepStrictEqual(
            specs.map((s) => [s.key, s.field, s.flag]),
            [
                ["releaseGates", "policy.gates", { name: "gates", arg: "<list>" }],
                ["promotionSoakTime", "policy.promotionSoakTime", undefined],
                ["promotionRequireApproval", "policy.promotionRequireApproval", undefined],
                ["releaseHooks", "policy.hooks", undefined],
                ["releaseHookSecret", "policy.hookSecret", undefined],
                ["releaseHookConfirmLimit", "policy.hookConfirmLimit", undefined],
                ["releaseLoadUrl", "policy.loadUrl", { name: "load-url", arg: "<url>" }],
                ["releaseLoadRate", "policy.loadRate", { name: "load-rate", arg: "<rps>" }],
                ["releaseLoadMaxRequests", "policy.loadMaxRequests", undefined],
                ["releaseLoadTimeout", "policy.loadTimeout", undefined],
                ["releaseLoadCanaryHeader", "policy.loadCanaryHeader", undefined],
            ],
        );
        // Each field is the property of the parsed policy that its key sets.
        const p = parsePolicy(
            {
                releaseGates: "50",
                promotionSoakTime: "2h",
                promotionRequireApproval: "true",
                releaseHooks: '[{"name":"a","type":"event","url":"http://h/x"}]',
                releaseHookSecret: "k",
                releaseHookConfirmLimit: "2m",
                releaseLoadUrl: "http://gw/",
                releaseLoadRate: "7",
                releaseLoadMaxRequests: "70",
                releaseLoadTimeout: "2s",
                releaseLoadCanaryHeader: "false",
            },
            new Set(["releaseHookSecret"]),
        );
        const byField = Object.fromEntries(
            specs.map((s) => [s.key, p[s.field!.slice("policy.".length) as keyof typeof p]]),
        );
        assert.deepStrictEqual(byField, {
            releaseGates: ["50"],
            promotionSoakTime: "2h",
            promotionRequireApproval: true,
            releaseHooks: [{ name: "a", type: "event", url: "http://h/x", timeout: "10s", retries: 2 }],
            releaseHookSecret: "k",
            releaseHookConfirmLimit: "2m",
            releaseLoadUrl: "http://gw/",
            releaseLoadRate: 7,
            releaseLoadMaxRequests: 70,
            releaseLoadTimeout: "2s",
            releaseLoadCanaryHeader: false,
        });
    });

    it("a gate list: weights from 1 to 100 and complete, each once, no empty item", () => {
        assert.deepStrictEqual(parseGates("5, 50 ,complete"), ["5", "50", "complete"]);
        assert.deepStrictEqual(parseGates("100"), ["100"]);
        for (const bad of ["150", "123", "0", "05", "5x", "x5", "5, 50,,complete", "50,", ",", " ", "50,50"]) {
            assert.strictEqual(parseGates(bad), undefined, bad);
        }
    });

    it("a malformed gate list is reported and yields no gates", () => {
        const r = new Reader({ releaseGates: "150" });
        assert.deepStrictEqual(readGates(r).gates, []);
        assert.deepStrictEqual(r.problems, [
            'releaseGates must be a comma-separated list of step weights and/or "complete", such as "50,complete" (each once, no empty item); got "150"',
        ]);
    });
});

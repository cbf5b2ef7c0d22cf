import * as assert from "assert";
import { parsePolicy } from "../../config/policy";
import { ConfigError } from "../../config/reader";

/** The problems parsePolicy reports for `raw`. */
function problems(raw: Record<string, string>, secret: string[] = []): string[] {
    try {
        parsePolicy(raw, new Set(secret));
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems;
    }
}

const DURATION =
    'a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first)';

describe("release policy: gates, hooks and load (exact messages)", () => {
    it("reads gates, hooks and load with their defaults", () => {
        const p = parsePolicy(
            {
                releaseGates: " 50 , complete",
                releaseHooks: JSON.stringify([{ name: "smoke", type: "pre-rollout", url: "https://ci.example.com/x" }]),
                releaseHookSecret: "k",
                releaseLoadUrl: "http://gw.example.com/",
                promotionSoakTime: "24h",
                promotionRequireApproval: "true",
            },
            new Set(["releaseHookSecret"]),
        );
        assert.deepStrictEqual(p.gates, ["50", "complete"]);
        assert.deepStrictEqual(p.hooks, [
            { name: "smoke", type: "pre-rollout", url: "https://ci.example.com/x", timeout: "10s", retries: 2 },
        ]);
        assert.strictEqual(p.hookSecret, "k");
        assert.strictEqual(p.hookConfirmLimit, "1h");
        assert.deepStrictEqual(
            [p.loadUrl, p.loadRate, p.loadMaxRequests, p.loadTimeout, p.loadCanaryHeader],
            ["http://gw.example.com/", 10, 3000, "5s", true],
        );
        assert.strictEqual(p.promotionSoakTime, "24h");
        assert.strictEqual(p.promotionRequireApproval, true);
        const none = parsePolicy({});
        assert.deepStrictEqual([none.gates, none.hooks, none.loadUrl], [[], [], undefined]);
    });

    it("gates: a list of steps' weights and complete, each once", () => {
        const accepts =
            'a comma-separated list of step weights and/or "complete", such as "50,complete" (each once, no empty item)';
        assert.deepStrictEqual(problems({ releaseGates: "50,finish" }), [
            `releaseGates must be ${accepts}; got "50,finish"`,
        ]);
        assert.deepStrictEqual(problems({ releaseGates: "50,50" }), [`releaseGates must be ${accepts}; got "50,50"`]);
        assert.deepStrictEqual(problems({ releaseGates: "30,40" }), [
            'releaseGates: 30, 40 are not steps of releaseSteps (10,25,50,100); a gate is a step\'s weight or "complete"',
        ]);
    });

    it("hooks: JSON shape, names, types, URLs without credentials, timeout and retry bounds", () => {
        const hooks = (h: unknown) => problems({ releaseHooks: JSON.stringify(h) });
        assert.deepStrictEqual(problems({ releaseHooks: "not json" }), [
            'releaseHooks must be a JSON array of {"name" (lower-case letters, digits and "-", at most 63, each once), "type" (one of pre-rollout, rollout, confirm-promotion, post-rollout, rollback, event), "url" (an http(s):// URL without credentials), and optionally "timeout" (1s to 5m), "retries" (0 to 10), "metadata" (string values)}; got text that is not a JSON array',
        ]);
        assert.deepStrictEqual(
            hooks([{ name: "a", type: "pre-rollout", url: "https://user:pw@hooks.example.com/x", extra: 1 }]),
            [
                "releaseHooks[0] (a) has unknown fields extra (known: name, type, url, timeout, retries, metadata)",
                "releaseHooks[0] (a): url must not contain credentials (https://***@hooks.example.com/x): hook calls are signed with releaseHookSecret (--secret); set releaseHooks itself with --secret if its URLs carry tokens",
            ],
        );
        assert.deepStrictEqual(hooks([{ name: "Bad Name", type: "later", url: "ftp://x" }, "x"]), [
            "releaseHooks[0] (Bad Name): name must be lower-case letters, digits and -, at most 63",
            'releaseHooks[0] (Bad Name): type must be one of pre-rollout, rollout, confirm-promotion, post-rollout, rollback, event; got "later"',
            'releaseHooks[0] (Bad Name): url must be an http(s):// URL with a host (no spaces or fragment, at most 2048); got "ftp://x"',
            'releaseHooks[1] must be an object {"name", "type", "url", ...}',
        ]);
        assert.deepStrictEqual(
            hooks([
                { name: "a", type: "event", url: "http://h/x", timeout: "500ms", retries: 11, metadata: { n: 1 } },
                { name: "a", type: "event", url: "http://h/y" },
            ]),
            [
                `releaseHooks[0] (a): timeout must be ${DURATION}, from 1s to 5m; got "500ms"`,
                "releaseHooks[0] (a): retries must be an integer from 0 to 10; got 11",
                'releaseHooks[0] (a): metadata must be a JSON object of string values (field names not empty, not "__proto__", at most 256)',
                'releaseHooks[1] (a): the name "a" is used twice; hook names must be unique',
            ],
        );
    });

    it("the hook secret must be a stack secret, and is never echoed", () => {
        const got = problems({ releaseHookSecret: "hunter2" });
        assert.deepStrictEqual(got, [
            'releaseHookSecret must be set as a secret so it is encrypted in the stack file and state: `pulumi config set --secret releaseHookSecret -- "$(cat file.pem)"`',
        ]);
        assert.deepStrictEqual(problems({ releaseHookConfirmLimit: "500ms" }), [
            'releaseHookConfirmLimit must be at least 1s; got "500ms"',
        ]);
    });

    it("load: an http(s) URL without credentials, rate and timeout bounds", () => {
        assert.deepStrictEqual(problems({ releaseLoadUrl: "http://admin:hunter2@gw.example.com/" }), [
            "releaseLoadUrl must not contain credentials (http://***@gw.example.com/): the load goes to the service as its users' requests do, without credentials",
        ]);
        assert.deepStrictEqual(problems({ releaseLoadUrl: "gw.example.com" }), [
            'releaseLoadUrl must be an http(s):// URL with a host (no spaces or fragment, at most 2048); got "gw.example.com"',
        ]);
        assert.deepStrictEqual(problems({ releaseLoadRate: "0" }), [
            'releaseLoadRate must be an integer from 1 to 1000; got "0"',
        ]);
        assert.deepStrictEqual(problems({ releaseLoadTimeout: "2m" }), [
            'releaseLoadTimeout must be from 100ms to 1m; got "2m"',
        ]);
        assert.deepStrictEqual(problems({ promotionSoakTime: "1 day" }), [
            `promotionSoakTime must be ${DURATION}, from 1s to 365d; got "1 day"`,
        ]);
    });
});

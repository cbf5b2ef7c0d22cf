import * as assert from "assert";
import { parsePolicy } from "../../config/policy";
import { parseConfig } from "../../config/program";
import { ConfigError } from "../../config/reader";
import { SECRET_KEYS, validConfig } from "../fixtures/config";

/** The problems parseConfig reports for `raw`, with `secret` set with --secret besides the TLS pair. */
function problems(raw: Record<string, string>, secret: string[] = []): string[] {
    try {
        parseConfig(raw, new Set([...SECRET_KEYS, ...secret]));
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

describe("config: a value set with --secret is never quoted", () => {
    it("a releaseHooks value stored with --secret is never quoted in config errors, token included", () => {
        const hooks = JSON.stringify([
            { name: "smoke", type: "bogus", url: "https://hooks.example.com/services/T0KEN-abcdef?sig=S1GNATURE-xyz" },
            { name: "chat", type: "event", url: "ftp://hooks.example.com/T0KEN-abcdef" },
            { name: "ci", type: "event", url: "https://bot:pa55word-1@ci.example.com/hook", timeout: "S1GNATURE-xyz" },
        ]);
        const found = problems(validConfig({ releaseHooks: hooks }), ["releaseHooks"]);
        assert.strictEqual(found.length, 4, found.join("\n"));
        for (const p of found) {
            assert.match(p, /^releaseHooks\[\d\]/);
            for (const token of ["T0KEN", "S1GNATURE", "pa55word", "hooks.example.com/services"]) {
                assert.ok(!p.includes(token), `${token} in: ${p}`);
            }
        }
    });

    it("a key set with --secret is never quoted, whatever the key: its value is not shown", () => {
        assert.deepStrictEqual(
            problems(validConfig({ prometheusUrl: "ftp://prom.example.com/T0KEN-abcdef" }), ["prometheusUrl"]),
            [
                "prometheusUrl must be an http(s):// URL with a host (no spaces, credentials or fragment, at most 2048); got a secret value (not shown)",
            ],
        );
        assert.deepStrictEqual(
            parsePolicy({ releaseLoadUrl: "http://gw.example.com/x?key=T0KEN-abcdef" }, new Set(["releaseLoadUrl"]))
                .loadUrl,
            "http://gw.example.com/x?key=T0KEN-abcdef",
        );
    });

    it("a chart repository with user:password in it must be set with --secret", () => {
        const repo = "https://bot:pa55word@charts.example.com/istio";
        assert.deepStrictEqual(problems(validConfig({ istioChartRepository: repo })), [
            "istioChartRepository holds credentials (user:password@): set it as a secret so they are encrypted in " +
                "the stack file and state: `pulumi config set --secret istioChartRepository <url>` (Helm gets them " +
                "as a secret username and password)",
        ]);
        assert.strictEqual(
            parseConfig(validConfig({ istioChartRepository: repo }), new Set([...SECRET_KEYS, "istioChartRepository"]))
                .mesh.repository,
            repo,
        );
    });

    it("a blank hook secret is refused, naming the key; so is any blank secret", () => {
        const hooks = JSON.stringify([{ name: "chat", type: "event", url: "https://chat.example.com/hook" }]);
        for (const blank of ["", "  ", "\t\n"]) {
            assert.deepStrictEqual(
                problems(validConfig({ releaseHooks: hooks, releaseHookSecret: blank }), ["releaseHookSecret"]),
                [
                    "releaseHookSecret is set but blank: set it to a secret string (no control characters, at most 1024) with `pulumi config set --secret " +
                        "releaseHookSecret <value>`, or remove it with `pulumi config rm releaseHookSecret`",
                ],
            );
        }
        assert.deepStrictEqual(problems(validConfig({ prometheusToken: " " }), ["prometheusToken"]), [
            "prometheusToken is set but blank: set it to a bearer token (visible ASCII characters, no spaces, at most 8192) with `pulumi config set --secret prometheusToken " +
                "<value>`, or remove it with `pulumi config rm prometheusToken`",
        ]);
    });

    it("hooks configured without releaseHookSecret are called unsigned: a warning says so", () => {
        const hooks = JSON.stringify([{ name: "chat", type: "event", url: "https://chat.example.com/hook" }]);
        assert.deepStrictEqual(parseConfig(validConfig({ releaseHooks: hooks }), new Set(SECRET_KEYS)).warnings, [
            "releaseHooks are called unsigned: set releaseHookSecret (`pulumi config set --secret releaseHookSecret " +
                '"$(openssl rand -hex 32)"`) so that receivers can verify each call and refuse old or replayed ones',
        ]);
        const signed = validConfig({ releaseHooks: hooks, releaseHookSecret: "k3y-value" });
        assert.deepStrictEqual(parseConfig(signed, new Set([...SECRET_KEYS, "releaseHookSecret"])).warnings, []);
    });
});

import * as assert from "assert";
import { ownKeys } from "../../config/namespace";
import { parseConfig } from "../../config/program";
import { ConfigError } from "../../config/reader";
import { SECRET_KEYS, validConfig } from "../fixtures/config";

/** The problems parseConfig reports for `raw` (a valid config with `extra`). */
function problems(extra: Record<string, string>, secret: string[] = []): string[] {
    try {
        parseConfig(validConfig(extra), new Set([...SECRET_KEYS, ...secret]));
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `not a config error: ${String(e)}`);
        return e.problems;
    }
}

describe("config grammar: what the fuzzer found accepted or crashing (exact messages)", () => {
    it("a host with a NUL byte is a config error naming hosts, not a raw TypeError", () => {
        assert.deepStrictEqual(problems({ hosts: "shop.example.test,a\u0000b" }), [
            'hosts must be a comma-separated list or a JSON array of host names such as "app.example.com,*.example.com" ' +
                "(lower-case DNS names of at most 253 characters, a wildcard only as the first label, each once; never " +
                '"*" alone); got "shop.example.test,a\\u0000b"',
        ]);
    });

    it("a host of * alone is refused: it would bind the routes to every host, on the mesh gateway of every namespace", () => {
        const anyHost =
            'hosts must not hold "*": it binds the routes to every host the gateway serves and, on the mesh gateway, ' +
            "to requests for any host from every namespace the VirtualService is exported to; list the hosts, or a " +
            'wildcard such as "*.example.com"';
        assert.deepStrictEqual(problems({ hosts: "*" }), [anyHost]);
        assert.deepStrictEqual(problems({ hosts: '["shop.example.test", "*"]' }), [anyHost]);
        assert.deepStrictEqual(problems({ hosts: "*.example.test" }), []);
    });

    it("meshExportTo: namespaces besides the app's and the gateway's, or * alone", () => {
        assert.deepStrictEqual(
            parseConfig(validConfig({ meshExportTo: "callers, ops" }), new Set(SECRET_KEYS)).release.exportTo,
            ["callers", "ops"],
        );
        assert.deepStrictEqual(problems({ meshExportTo: "*,ops" }), [
            'meshExportTo must be "*" alone or namespaces without it; got "*,ops"',
        ]);
        assert.deepStrictEqual(problems({ meshExportTo: "Ops" }), [
            'meshExportTo must be a comma-separated list or a JSON array of namespaces (DNS-1123 labels, each once), or "*" alone; got "Ops"',
        ]);
    });

    it("release state keys take only what the bot writes: versions, images, times that exist", () => {
        assert.deepStrictEqual(
            problems({
                releaseVersion: "v 2",
                releaseImage: "Registry/Shop:2",
                releasePreviousVersion: "-v1",
                releasePreviousImage: "shop:1 ",
                releaseLeaseExpires: "2026-02-30T10:00:00Z",
                releaseMessage: "x".repeat(301),
            }),
            [
                'releaseVersion must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "v 2"',
                'releaseImage must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got "Registry/Shop:2"',
                `releaseMessage must be a text of at most 300 characters without control characters (but tab and line breaks); got "${"x".repeat(197)}..."`,
                'releasePreviousImage must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got "shop:1 "',
                'releasePreviousVersion must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "-v1"',
                'releaseLeaseExpires must be a UTC time such as "2026-11-30T10:00:00Z"; got "2026-02-30T10:00:00Z"',
            ],
        );
    });

    it("gatewaySelector {} is refused: it would select every gateway", () => {
        const accepts =
            'gatewaySelector must be a non-empty JSON object of Kubernetes labels, such as {"istio": "ingressgateway"}: ' +
            'keys "[prefix/]name", values of letters, digits, -_. (at most 63, possibly empty)';
        assert.deepStrictEqual(problems({ gatewaySelector: "{}" }), [`${accepts}; got "{}"`]);
        assert.deepStrictEqual(problems({ gatewaySelector: '{"istio": "a b"}' }), [
            `${accepts}; got "{\\"istio\\": \\"a b\\"}"`,
        ]);
        assert.deepStrictEqual(problems({ gatewaySelector: '{"example.com/gw": "in"}' }), []);
    });

    it("a canary header value with CR or LF is refused (it would split the header)", () => {
        for (const value of ["a\r\nx-injected: 1", "a\nb", " padded"]) {
            assert.deepStrictEqual(problems({ canaryHeader: "x-canary", canaryHeaderValue: value }), [
                `canaryHeaderValue must be a header value: visible ASCII characters, spaces only inside, at most 256; got ${JSON.stringify(value)}`,
            ]);
        }
    });

    it("env names A=B and the empty name are refused, and RELEASE_TRACK, which the program sets", () => {
        for (const env of ['{"A=B": "1"}', '{"": "1"}', '{"RELEASE_TRACK": "x"}', '{"A": "a\\u0000"}']) {
            assert.deepStrictEqual(problems({ env }), [
                'env must be a JSON object of environment variables: names of letters, digits, "_", "-" and "." not ' +
                    "starting with a digit (at most 256; not RELEASE_TRACK, which the program sets), string values " +
                    `without NUL; got ${JSON.stringify(env)}`,
            ]);
        }
    });

    it("integers above int32 (or written with a sign, spaces or leading zeros) are refused", () => {
        assert.deepStrictEqual(
            problems({ replicas: "2147483648", maxConnections: "99999999999", canaryReplicas: "01" }),
            [
                'replicas must be an integer from 1 to 2147483647; got "2147483648"',
                'canaryReplicas must be an integer from 0 to 2147483647; got "01"',
                'maxConnections must be an integer from 1 to 2147483647; got "99999999999"',
            ],
        );
    });

    it("quantities: no zero, no fraction of a millicore, no request above its limit", () => {
        assert.deepStrictEqual(problems({ cpuRequest: "0", memoryLimit: "0.5" }).length, 2);
        assert.deepStrictEqual(problems({ cpuRequest: "0.0005" }).length, 1);
        assert.deepStrictEqual(
            problems({ cpuRequest: "2", cpuLimit: "500m", memoryRequest: "1Gi", memoryLimit: "512Mi" }),
            [
                "cpuRequest (2) must not be above cpuLimit (500m): Kubernetes refuses such a container",
                "memoryRequest (1Gi) must not be above memoryLimit (512Mi): Kubernetes refuses such a container",
            ],
        );
        assert.deepStrictEqual(
            problems({ cpuRequest: "1", cpuLimit: "1000m", memoryRequest: "1.5Gi", memoryLimit: "2Gi" }),
            [],
        );
    });

    it("istioVersion is a chart version, not any text", () => {
        assert.deepStrictEqual(problems({ istioVersion: "latest" }), [
            'istioVersion must be a chart version such as "1.28.0" (MAJOR.MINOR.PATCH, an optional -prerelease such as "-beta.1"); got "latest"',
        ]);
    });

    it("a key named __proto__ is reported, never silently dropped; nor a JSON field of that name", () => {
        const all = JSON.parse('{"istio-canary:__proto__": "x", "istio-canary:app": "shop"}') as Record<string, string>;
        assert.deepStrictEqual(Object.keys(ownKeys(all)), ["__proto__", "app"]);
        const raw = Object.fromEntries([...Object.entries(validConfig()), ["__proto__", "x"]]);
        assert.throws(() => parseConfig(raw, new Set(SECRET_KEYS)), {
            problems: [
                "istio-canary:__proto__ is not a config key of this program (see the config reference in README.md)",
            ],
        });
        assert.deepStrictEqual(problems({ istiodValues: '{"global": {"__proto__": {"x": 1}}}' }), [
            'istiodValues must be a JSON object (no field named "__proto__"); got "{\\"global\\": {\\"__proto__\\": {\\"x\\": 1}}}"',
        ]);
    });
});

import * as assert from "assert";
import * as os from "os";
import { ownKeys } from "../../config/namespace";
import { configKeySpecs, parseConfig } from "../../config/program";
import { ConfigError } from "../../config/reader";
import { otherPair } from "../fixtures/tls";
import { releaseConfig, SECRET_KEYS, validConfig } from "../fixtures/config";

const secrets = new Set(SECRET_KEYS);

/** The problems parseConfig reports for `raw`. */
function problems(raw: Record<string, string>, secretKeys: Set<string> = secrets): string[] {
    try {
        parseConfig(raw, secretKeys);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        return e.problems;
    }
    return [];
}

describe("parseConfig", () => {
    it("applies the documented defaults to a minimal config", () => {
        const cfg = parseConfig(validConfig(), secrets);
        assert.strictEqual(cfg.release.canaryWeight, 0);
        assert.strictEqual(cfg.release.replicas, 2);
        assert.strictEqual(cfg.release.canaryReplicas, 1);
        assert.strictEqual(cfg.release.canary, undefined);
        assert.deepStrictEqual(cfg.release.hosts, ["shop.example.test"]);
        assert.strictEqual(cfg.mesh.install, true);
        assert.strictEqual(cfg.mesh.gatewayServiceType, "LoadBalancer");
        assert.strictEqual(cfg.mesh.repository, "https://istio-release.storage.googleapis.com/charts");
        assert.deepStrictEqual(cfg.warnings, []);
    });

    it("keeps the user's own mirror apart from the one routed during the bot's mirror phase", () => {
        const mirroring = { releaseStatus: "in-progress", releasePhase: "mirror", releaseMirrorPercent: "30" };
        const cfg = parseConfig(releaseConfig(0, { mirrorPercent: "5", ...mirroring }), secrets);
        assert.deepStrictEqual([cfg.release.mirrorPercent, cfg.userMirrorPercent], [30, 5]);
        assert.strictEqual(parseConfig(validConfig(), secrets).userMirrorPercent, 0);
    });

    it("reads a release in progress with routing options", () => {
        const cfg = parseConfig(
            releaseConfig(50, {
                canaryHeader: "x-canary",
                canaryCookie: "version=v2",
                mirrorPercent: "12.5",
                timeout: "10s",
                retryAttempts: "3",
                perTryTimeout: "2s",
                retryOn: "5xx,reset",
                hosts: '["shop.example.test","www.shop.example.test"]',
                outlierConsecutive5xxErrors: "5",
                maxConnections: "100",
            }),
            secrets,
        );
        assert.deepStrictEqual(cfg.release.canary, { image: "registry.example.test/shop:2.0.0", version: "v2" });
        assert.strictEqual(cfg.release.canaryWeight, 50);
        assert.deepStrictEqual(cfg.release.canaryHeader, { name: "x-canary", value: "true" });
        assert.deepStrictEqual(cfg.release.canaryCookie, { name: "version", value: "v2" });
        assert.strictEqual(cfg.release.mirrorPercent, 12.5);
        assert.deepStrictEqual(cfg.release.retries, { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset" });
        assert.deepStrictEqual(cfg.release.hosts, ["shop.example.test", "www.shop.example.test"]);
        assert.deepStrictEqual(cfg.release.outlierDetection, {
            consecutive5xxErrors: 5,
            interval: "10s",
            baseEjectionTime: "30s",
        });
        assert.deepStrictEqual(cfg.release.connectionPool, { tcp: { maxConnections: 100 } });
        assert.deepStrictEqual(cfg.warnings, [
            'tlsCert does not cover host "www.shop.example.test"; clients will reject the certificate',
        ]);
    });

    // Each invalid config and the exact message it must produce.
    const invalid: [string, Record<string, string>, string[], string?][] = [
        [
            "a fractional weight",
            releaseConfig(0, { canaryWeight: "50.5" }),
            ['canaryWeight must be an integer from 0 to 100; got "50.5"'],
        ],
        [
            "a weight above 100",
            releaseConfig(0, { canaryWeight: "101" }),
            ['canaryWeight must be an integer from 0 to 100; got "101"'],
        ],
        [
            "a negative weight",
            releaseConfig(0, { canaryWeight: "-5" }),
            ['canaryWeight must be an integer from 0 to 100; got "-5"'],
        ],
        [
            "a word as weight",
            releaseConfig(0, { canaryWeight: "half" }),
            ['canaryWeight must be an integer from 0 to 100; got "half"'],
        ],
        [
            "a weight without a canary",
            validConfig({ canaryWeight: "10" }),
            ["canaryWeight must be 0 while no canary is set (set canaryImage and canaryVersion first); got 10"],
        ],
        [
            "a canary image without version",
            validConfig({ canaryImage: "registry.example.test/shop:2.0.0" }),
            ["canaryImage and canaryVersion must be set together (both for a release in progress, neither otherwise)"],
        ],
        [
            "a missing stable image",
            (() => {
                const c = validConfig();
                delete c.stableImage;
                return c;
            })(),
            [
                'stableImage is required: set it to a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>" with `pulumi config set stableImage <value>`',
            ],
        ],
        [
            "an image with spaces",
            validConfig({ stableImage: "shop 1.0" }),
            [
                'stableImage must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got "shop 1.0"',
            ],
        ],
        [
            "a bad version label",
            validConfig({ stableVersion: "v1/beta" }),
            [
                'stableVersion must be a label value such as "v2" (letters, digits, "-", "_", ".", at most 63); got "v1/beta"',
            ],
        ],
        [
            "an app name with capitals",
            validConfig({ app: "Shop" }),
            [
                'app must be a DNS-1123 label of at most 56 characters (lower-case letters, digits and "-"; the Deployments add "-stable" and "-canary"); got "Shop"',
            ],
        ],
        [
            "zero stable replicas",
            validConfig({ replicas: "0" }),
            ['replicas must be an integer from 1 to 2147483647; got "0"'],
        ],
        ["a boolean typo", validConfig({ canaryScaling: "yes" }), ['canaryScaling must be true or false; got "yes"']],
        [
            "an unknown service type",
            validConfig({ gatewayServiceType: "Ingress" }),
            ['gatewayServiceType must be one of LoadBalancer, ClusterIP, NodePort; got "Ingress"'],
        ],
        [
            "a duration without unit",
            validConfig({ timeout: "10" }),
            [
                'timeout must be a duration such as "250ms", "5s" or "1m30s" (units h, m, s, ms, each once, largest first), from 1ms to 24h; got "10"',
            ],
        ],
        [
            "mirroring above 100",
            validConfig({ mirrorPercent: "150" }),
            ['mirrorPercent must be a number from 0 to 100 (decimal digits, at most 6 after the point); got "150"'],
        ],
        [
            "a cookie without value",
            validConfig({ canaryCookie: "version" }),
            [
                'canaryCookie must be name=value, such as "version=v2": a cookie name (an HTTP token, at most 256) and a value of visible ASCII characters other than " , ; and \\ (at most 1024); got "version"',
            ],
        ],
        [
            "an unknown retry condition",
            validConfig({ retryAttempts: "2", retryOn: "5xx,sometimes" }),
            [
                'retryOn must be a comma-separated list without spaces of 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable or HTTP status codes such as 503; got "5xx,sometimes"',
            ],
        ],
        [
            "retry options without attempts",
            validConfig({ perTryTimeout: "2s" }),
            ["perTryTimeout and retryOn need retryAttempts (an integer from 0 to 100)"],
        ],
        [
            "no canary pods while it has weight",
            releaseConfig(10, { canaryReplicas: "0" }),
            [
                "canaryReplicas must be at least 1 while traffic can reach the canary (canaryWeight above 0, canaryHeader, canaryCookie or mirrorPercent); got 0",
            ],
        ],
        [
            "no canary pods with header routing",
            releaseConfig(0, { canaryReplicas: "0", canaryHeader: "x-canary" }),
            [
                "canaryReplicas must be at least 1 while traffic can reach the canary (canaryWeight above 0, canaryHeader, canaryCookie or mirrorPercent); got 0",
            ],
        ],
        [
            "a typo in a key",
            validConfig({ canaryWieght: "50" }),
            [
                "istio-canary:canaryWieght is not a config key of this program; did you mean canaryWeight? (see the config reference in README.md)",
            ],
        ],
        [
            "no TLS",
            (() => {
                const c = validConfig();
                delete c.tlsCert;
                delete c.tlsKey;
                return c;
            })(),
            [
                "TLS is required: set tlsCert and tlsKey (PEM, as secrets) or tlsSecretName (an existing kubernetes.io/tls Secret in the gateway namespace)",
            ],
        ],
        [
            "a key of another certificate",
            validConfig({ tlsKey: otherPair().key }),
            ["tlsKey does not match tlsCert: the private key is not the key of the certificate"],
        ],
        [
            "both TLS sources",
            validConfig({ tlsSecretName: "shop-tls" }),
            ["set either tlsSecretName or tlsCert and tlsKey, not both"],
        ],
        [
            "no chart version for a repository install",
            (() => {
                const c = validConfig();
                delete c.istioVersion;
                return c;
            })(),
            [
                'istioVersion is required when Istio is installed from a chart repository (a chart version such as "1.28.0"); or set istioChartDir, or istioInstall to false',
            ],
        ],
        [
            "a bad env map",
            validConfig({ env: '{"A": 1}' }),
            [
                'env must be a JSON object of environment variables: names of letters, digits, "_", "-" and "." not starting with a digit (at most 256; not RELEASE_TRACK, which the program sets), string values without NUL; got "{\\"A\\": 1}"',
            ],
        ],
    ];
    for (const [what, raw, expected] of invalid) {
        it(`rejects ${what} with the exact message`, () => {
            assert.deepStrictEqual(problems(raw), expected);
        });
    }

    it("rejects a TLS key stored in plaintext, without quoting it", () => {
        const raw = validConfig();
        const found = problems(raw, new Set(["tlsCert"]));
        assert.deepStrictEqual(found, [
            'tlsKey must be set as a secret so it is encrypted in the stack file and state: `pulumi config set --secret tlsKey -- "$(cat file.pem)"`',
        ]);
        assert.ok(!found.join("").includes(raw.tlsKey.slice(40, 80)));
    });

    it("routingApi gateway-api: what the Gateway API cannot express is refused, naming the config keys", () => {
        const raw = releaseConfig(0, {
            routingApi: "gateway-api",
            retryAttempts: "3",
            meshExportTo: "frontend",
            tlsMinVersion: "TLSV1_3",
        });
        assert.deepStrictEqual(problems(raw), [
            'retryAttempts cannot be used with routingApi "gateway-api": the Gateway API\'s standard channel has no retries (HTTPRoute retry is experimental); unset it or use routingApi "istio"',
            'meshExportTo cannot be used with routingApi "gateway-api": it is Istio\'s visibility of a VirtualService, which this mode does not create; unset it or use routingApi "istio"',
            'tlsMinVersion cannot be used with routingApi "gateway-api": a Gateway API listener has no TLS minimum (istiod\'s default, TLSV1_2, applies); unset it or use routingApi "istio"',
        ]);
        assert.strictEqual(
            parseConfig(releaseConfig(0, { routingApi: "gateway-api" }), secrets).release.routingApi,
            "gateway-api",
        );
    });

    it("reports every problem at once, one per line", () => {
        const raw = releaseConfig(0, { canaryWeight: "x", replicas: "0", timeout: "soon" });
        assert.throws(() => parseConfig(raw, secrets), {
            name: "ConfigError",
            message: [
                'replicas must be an integer from 1 to 2147483647; got "0"',
                'canaryWeight must be an integer from 0 to 100; got "x"',
                'timeout must be a duration such as "250ms", "5s" or "1m30s" (units h, m, s, ms, each once, largest first), from 1ms to 24h; got "soon"',
            ].join("\n"),
        });
    });

    it("accepts a local chart directory without a version, and no install at all", () => {
        const c = validConfig({ istioChartDir: "/charts" });
        delete c.istioVersion;
        assert.strictEqual(parseConfig(c, secrets).mesh.chartDir, "/charts");
        const none = validConfig({ istioInstall: "false" });
        delete none.istioVersion;
        assert.strictEqual(parseConfig(none, secrets).mesh.install, false);
    });

    it("Istio CNI follows podSecurityEnforce unless set: on for restricted and baseline, off for privileged", () => {
        const cni = (extra: Record<string, string>) => parseConfig(validConfig(extra), secrets).mesh.cni;
        assert.strictEqual(cni({}), true, "restricted by default");
        assert.strictEqual(cni({ podSecurityEnforce: "baseline" }), true);
        assert.strictEqual(cni({ podSecurityEnforce: "privileged" }), false);
        assert.strictEqual(cni({ podSecurityEnforce: "privileged", istioCni: "true" }), true);
        assert.strictEqual(cni({ istioCni: "false", istioInstall: "false" }), false, "Istio installed by others");
    });

    it("refuses injection without Istio CNI where the app's namespace enforces more than privileged", () => {
        for (const level of ["restricted", "baseline"]) {
            assert.deepStrictEqual(problems(validConfig({ istioCni: "false", podSecurityEnforce: level })), [
                `istioCni is false but podSecurityEnforce is "${level}": sidecar injection without Istio CNI adds the ` +
                    'istio-init container (capabilities NET_ADMIN and NET_RAW, user 0), which only "privileged" ' +
                    "admits, so the API server would reject every pod of the app; set istioCni to true (Istio CNI " +
                    'is installed with Istio), or podSecurityEnforce to "privileged"',
            ]);
        }
        assert.deepStrictEqual(problems(validConfig({ istioCni: "false", podSecurityEnforce: "privileged" })), []);
        assert.deepStrictEqual(problems(validConfig({ istioCni: "maybe" })), [
            'istioCni must be true or false; got "maybe"',
        ]);
    });

    it('expands a leading "~/" of istioChartDir to the home directory', () => {
        const c = validConfig({ istioChartDir: "~/.cache/istio-canary/istio/x/charts" });
        assert.strictEqual(parseConfig(c, secrets).mesh.chartDir, `${os.homedir()}/.cache/istio-canary/istio/x/charts`);
    });

    it("ownKeys keeps only this program's namespace", () => {
        assert.deepStrictEqual(ownKeys({ "istio-canary:app": "a", "kubernetes:context": "k", "pulumi:tags": "t" }), {
            app: "a",
        });
    });

    it("documents every key once, with what it accepts", () => {
        const specs = configKeySpecs();
        const keys = specs.map((s) => s.key);
        assert.deepStrictEqual(keys, [...new Set(keys)]);
        for (const s of specs) {
            assert.ok(s.doc.length > 10 && s.accepts.length > 3, s.key);
        }
        assert.ok(keys.includes("canaryWeight") && keys.includes("tlsKey"));
        assert.ok(specs.find((s) => s.key === "tlsKey")!.secret);
    });
});

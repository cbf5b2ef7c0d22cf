import * as assert from "assert";
import { parseConfig } from "../../config/program";
import { ConfigError, Reader } from "../../config/reader";
import { readRelease } from "../../config/release-keys";
import { releaseConfig, SECRET_KEYS, validConfig } from "../fixtures/config";

const secrets = new Set(SECRET_KEYS);

/** The problems parseConfig reports for `raw`. */
function problems(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw, secrets);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        return e.problems;
    }
    return [];
}

describe("release keys", () => {
    it("readRelease of an empty config: the defaults, empty required values and their problems", () => {
        const r = new Reader({});
        assert.deepStrictEqual(readRelease(r), {
            release: {
                app: "",
                namespace: undefined,
                createNamespace: true,
                podSecurityEnforce: "restricted",
                stable: { image: "", version: "" },
                canary: undefined,
                replicas: 2,
                canaryReplicas: 1,
                canaryScaling: false,
                containerPort: 8080,
                servicePort: 80,
                protocol: "http",
                env: undefined,
                exportTo: undefined,
                probePath: "/",
                resources: {
                    cpuRequest: "100m",
                    memoryRequest: "128Mi",
                    cpuLimit: "500m",
                    memoryLimit: "256Mi",
                    ephemeralStorageRequest: "64Mi",
                    ephemeralStorageLimit: "512Mi",
                },
                rolloutTimeoutSeconds: 600,
                routingApi: "istio",
                runAsUser: 65532,
                canaryWeight: 0,
                hosts: [],
                canaryHeader: undefined,
                canaryCookie: undefined,
                timeout: undefined,
                retries: undefined,
                connectionPool: undefined,
                outlierDetection: undefined,
                tlsMinVersion: "TLSV1_2",
                httpsRedirect: true,
                serviceAccount: true,
                tmpVolume: true,
                ephemeralStorage: true,
                podDisruptionBudgets: true,
                peerAuthentication: true,
                authorizationPolicy: true,
                allowedPrincipals: undefined,
            },
            tls: { cert: undefined, key: undefined, secretName: undefined },
            userMirror: 0,
        });
        assert.deepStrictEqual(
            r.problems.map((p) => p.slice(0, p.indexOf(" "))),
            ["app", "stableImage", "stableVersion", "hosts"],
        );
    });

    it("a connection pool of pending requests only has no TCP part", () => {
        const cfg = parseConfig(validConfig({ maxPendingRequests: "5" }), secrets);
        assert.deepStrictEqual(cfg.release.connectionPool, { http: { http1MaxPendingRequests: 5 } });
    });

    it("a connection pool of both limits", () => {
        const cfg = parseConfig(validConfig({ maxPendingRequests: "5", maxConnections: "7" }), secrets);
        assert.deepStrictEqual(cfg.release.connectionPool, {
            tcp: { maxConnections: 7 },
            http: { http1MaxPendingRequests: 5 },
        });
    });

    it("session affinity: the cookie name, and its max age (a day unless set); off without sessionAffinity", () => {
        assert.strictEqual(parseConfig(validConfig(), secrets).release.sessionAffinity, undefined);
        assert.deepStrictEqual(
            parseConfig(validConfig({ sessionAffinity: "canary-session" }), secrets).release.sessionAffinity,
            { cookieName: "canary-session", maxAgeSeconds: 86_400 },
        );
        assert.deepStrictEqual(
            parseConfig(validConfig({ sessionAffinity: "s", sessionAffinityMaxAge: "600" }), secrets).release
                .sessionAffinity,
            { cookieName: "s", maxAgeSeconds: 600 },
        );
    });

    it("splits a cookie at its first =", () => {
        const cfg = parseConfig(releaseConfig(0, { canaryCookie: "v=a=b" }), secrets);
        assert.deepStrictEqual(cfg.release.canaryCookie, { name: "v", value: "a=b" });
    });

    // Each invalid config and the exact message it must produce.
    const invalid: [string, Record<string, string>, string[]][] = [
        [
            "retryOn without attempts",
            validConfig({ retryOn: "5xx" }),
            ["perTryTimeout and retryOn need retryAttempts (an integer from 0 to 100)"],
        ],
        [
            "a probe path not starting with /",
            validConfig({ probePath: "health/z" }),
            [
                'probePath must be a URL path such as "/healthz" or "/health?full=1": "/" then letters, digits and -._~!$&\'()*+,;=:@%/ (and ? after the first ?), at most 1024; got "health/z"',
            ],
        ],
        [
            "a cookie after another attribute",
            validConfig({ canaryCookie: "a;version=v2" }),
            [
                'canaryCookie must be name=value, such as "version=v2": a cookie name (an HTTP token, at most 256) and a value of visible ASCII characters other than " , ; and \\ (at most 1024); got "a;version=v2"',
            ],
        ],
        [
            "a session affinity cookie name with a = and a max age of 0",
            validConfig({ sessionAffinity: "a=b", sessionAffinityMaxAge: "0" }),
            [
                'sessionAffinity must be a cookie name such as "canary-session" (an HTTP token: letters, digits and !#$%&\'*+-.^_`|~, at most 256); got "a=b"',
                'sessionAffinityMaxAge must be an integer from 1 to 31536000; got "0"',
            ],
        ],
        [
            "a cookie followed by a space",
            validConfig({ canaryCookie: "version=v2 x" }),
            [
                'canaryCookie must be name=value, such as "version=v2": a cookie name (an HTTP token, at most 256) and a value of visible ASCII characters other than " , ; and \\ (at most 1024); got "version=v2 x"',
            ],
        ],
        [
            "a chart repository URL not at the start",
            validConfig({ istioChartRepository: "git+https://charts.example.test" }),
            [
                'istioChartRepository must be an http(s):// or oci:// URL with a host (no spaces or fragment, at most 2048; user:password@ only when set with --secret); got "git+https://charts.example.test"',
            ],
        ],
        [
            "an Istio namespace that is no DNS label",
            validConfig({ istioNamespace: "Istio_System" }),
            [
                'istioNamespace must be a DNS-1123 label (lower-case letters, digits and "-", at most 63); got "Istio_System"',
            ],
        ],
        [
            "a TLS secret name with a certificate but no key",
            (() => {
                const c = validConfig({ tlsSecretName: "shop-tls" });
                delete c.tlsKey;
                return c;
            })(),
            ["set either tlsSecretName or tlsCert and tlsKey, not both"],
        ],
        [
            "a TLS secret name with a key but no certificate",
            (() => {
                const c = validConfig({ tlsSecretName: "shop-tls" });
                delete c.tlsCert;
                return c;
            })(),
            ["set either tlsSecretName or tlsCert and tlsKey, not both"],
        ],
    ];
    for (const [what, raw, expected] of invalid) {
        it(`rejects ${what} with the exact message`, () => {
            assert.deepStrictEqual(problems(raw), expected);
        });
    }

    it("accepts plain http and oci chart repositories", () => {
        for (const repository of ["http://charts.example.test", "oci://registry.example.test/istio"]) {
            const cfg = parseConfig(validConfig({ istioChartRepository: repository }), secrets);
            assert.strictEqual(cfg.mesh.repository, repository);
        }
    });
});

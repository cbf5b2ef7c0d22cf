/** The keys of what the pods and the mesh carry: defaults on, each key turns its part off, exact messages. */
import * as assert from "assert";
import { parseConfig } from "../../config/program";
import { configProblems, SECRET_KEYS, validConfig } from "../fixtures/config";
import { runProgram } from "../harness";

const secrets = new Set(SECRET_KEYS);
const problems = configProblems;

describe("hardening keys", () => {
    it("each part is on by default; its key turns it off; the ephemeral-storage quantities go into resources", () => {
        const on = parseConfig(validConfig(), secrets).release;
        assert.deepStrictEqual(
            [
                on.serviceAccount,
                on.tmpVolume,
                on.ephemeralStorage,
                on.podDisruptionBudgets,
                on.peerAuthentication,
                on.authorizationPolicy,
            ],
            [true, true, true, true, true, true],
        );
        const off = parseConfig(
            validConfig({
                serviceAccount: "false",
                tmpVolume: "false",
                ephemeralStorage: "false",
                podDisruptionBudgets: "false",
                peerAuthentication: "false",
                authorizationPolicy: "false",
                ephemeralStorageRequest: "1Gi",
                ephemeralStorageLimit: "2Gi",
            }),
            secrets,
        ).release;
        assert.deepStrictEqual(
            [
                off.serviceAccount,
                off.tmpVolume,
                off.ephemeralStorage,
                off.podDisruptionBudgets,
                off.peerAuthentication,
                off.authorizationPolicy,
            ],
            [false, false, false, false, false, false],
        );
        assert.deepStrictEqual(off.resources, {
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            cpuLimit: "500m",
            memoryLimit: "256Mi",
            ephemeralStorageRequest: "1Gi",
            ephemeralStorageLimit: "2Gi",
        });
    });

    it("allowedPrincipals: a list (comma-separated or JSON) of Istio principals, else the key and what it accepts", () => {
        assert.deepStrictEqual(
            parseConfig(validConfig({ allowedPrincipals: "cluster.local/ns/a/sa/b, */sa/c" }), secrets).release
                .allowedPrincipals,
            ["cluster.local/ns/a/sa/b", "*/sa/c"],
        );
        const principals =
            'allowedPrincipals must be a comma-separated list or a JSON array of Istio principals such as "cluster.local/ns/shop/sa/frontend" ' +
            '(no whitespace or control characters; "*" alone, or one "*" at the start or the end), each once; got ';
        assert.deepStrictEqual(problems(validConfig({ allowedPrincipals: '["a*b"]' })), [`${principals}"[\\"a*b\\"]"`]);
        assert.deepStrictEqual(problems(validConfig({ allowedPrincipals: "*/sa/a,*/sa/a" })), [
            `${principals}"*/sa/a,*/sa/a"`,
        ]);
        assert.deepStrictEqual(problems(validConfig({ allowedPrincipals: "cluster.local/ns/a/sa/\u0007" })), [
            `${principals}"cluster.local/ns/a/sa/\\u0007"`,
        ]);
    });

    it("ephemeral storage: quantities of bytes, the request not above the limit (exact messages)", () => {
        const storage =
            'an ephemeral-storage quantity such as "128Mi" or "1.5Gi": a number (at most 3 decimals) and a unit Ki, ' +
            "Mi, Gi, Ti, Pi, k, M, G, T or P, or a whole number of bytes; at least 1 byte";
        assert.deepStrictEqual(problems(validConfig({ ephemeralStorageLimit: "lots", ephemeralStorageRequest: "0" })), [
            `ephemeralStorageRequest must be ${storage}; got "0"`,
            `ephemeralStorageLimit must be ${storage}; got "lots"`,
        ]);
        assert.deepStrictEqual(problems(validConfig({ ephemeralStorageRequest: "1Gi" })), [
            "ephemeralStorageRequest (1Gi) must not be above ephemeralStorageLimit (512Mi): Kubernetes refuses such a container",
        ]);
        assert.deepStrictEqual(
            problems(validConfig({ ephemeralStorageRequest: "600M", ephemeralStorageLimit: "0.5Gi" })),
            [
                "ephemeralStorageRequest (600M) must not be above ephemeralStorageLimit (0.5Gi): Kubernetes refuses such a container",
            ],
        );
        assert.deepStrictEqual(problems(validConfig({ ephemeralStorageRequest: "512Mi" })), []);
        // Turned off, the quantities go into no container: Kubernetes never compares them.
        assert.deepStrictEqual(
            problems(validConfig({ ephemeralStorage: "false", ephemeralStorageRequest: "1Gi" })),
            [],
        );
    });

    it("the Istio namespaces' level and the gateway's service account: defaults, overrides, messages", () => {
        const cfg = parseConfig(validConfig(), secrets);
        assert.strictEqual(cfg.mesh.podSecurityEnforce, "restricted");
        assert.strictEqual(cfg.gatewayServiceAccount, undefined);
        const set = parseConfig(
            validConfig({ istioPodSecurityEnforce: "privileged", gatewayServiceAccount: "edge-gateway" }),
            secrets,
        );
        assert.strictEqual(set.mesh.podSecurityEnforce, "privileged");
        assert.strictEqual(set.gatewayServiceAccount, "edge-gateway");
        assert.deepStrictEqual(
            problems(validConfig({ istioPodSecurityEnforce: "strict", gatewayServiceAccount: "Edge_GW" })),
            [
                'istioPodSecurityEnforce must be one of privileged, baseline, restricted; got "strict"',
                'gatewayServiceAccount must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253); got "Edge_GW"',
            ],
        );
    });

    it("the program allows the gateway's service account: the chart's (from gatewayName), or gatewayServiceAccount", async () => {
        const principals = async (extra: Record<string, string>) => {
            const r = await runProgram(validConfig(extra), SECRET_KEYS);
            assert.strictEqual(r.error, undefined);
            return r.mocks.one("kubernetes:security.istio.io/v1:AuthorizationPolicy").inputs.spec.rules[0].from[0]
                .source.principals;
        };
        assert.deepStrictEqual(await principals({}), ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"]);
        assert.deepStrictEqual(
            await principals({
                gatewayName: "public",
                gatewayNamespace: "edge",
                allowedPrincipals: "cluster.local/ns/x/sa/y",
            }),
            ["cluster.local/ns/edge/sa/public", "cluster.local/ns/x/sa/y"],
        );
        assert.deepStrictEqual(
            await principals({
                gatewayValues: JSON.stringify({ serviceAccount: { name: "gw-identity" } }),
                gatewaySelector: JSON.stringify({ istio: "ingressgateway" }),
            }),
            ["cluster.local/ns/istio-ingress/sa/gw-identity"],
        );
        assert.deepStrictEqual(
            await principals({ istioInstall: "false", gatewayServiceAccount: "istio-ingressgateway-service-account" }),
            ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account"],
        );
    });
});

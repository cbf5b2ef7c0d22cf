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
        assert.deepStrictEqual(problems(validConfig({ allowedPrincipals: '["a*b"]' })), [
            'allowedPrincipals must hold Istio principals such as "cluster.local/ns/shop/sa/frontend" (no whitespace; a "*" only at the start or the end); got "a*b"',
        ]);
        assert.deepStrictEqual(problems(validConfig({ ephemeralStorageLimit: "lots" })), [
            'ephemeralStorageLimit must be a Kubernetes quantity such as "100m" or "128Mi"; got "lots"',
        ]);
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

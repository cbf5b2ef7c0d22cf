import * as assert from "assert";
import { gatewayMinTls } from "../../policies/gateway";
import { policies } from "../../policies/pack";
import { imagesPinned, noPlainSecrets, parseImage, readyReplicasPolicy } from "../../policies/workloads";
import { DEPLOYMENT, edit, GATEWAY, one, release, runResource, runStack, urnOf } from "./fixtures";

const DIGEST = `sha256:${"0f".repeat(32)}`;
const withStatus = (readyReplicas?: number) => (p: Record<string, any>) =>
    (p.status = { observedGeneration: 2, replicas: 1, ...(readyReplicas !== undefined ? { readyReplicas } : {}) });

describe("policy canary-ready-replicas", () => {
    it("passes a canary with replicas whenever a route reaches it", async () => {
        assert.deepStrictEqual(await runStack(readyReplicasPolicy, await release({ canaryWeight: 50 })), []);
        // Weight 0, no header, cookie or mirror: no route reaches the canary, so 0 replicas are fine.
        assert.deepStrictEqual(
            await runStack(readyReplicasPolicy, await release({ canaryWeight: 0, canaryReplicas: 0 })),
            [],
        );
    });

    it("fails a weighted route to a canary without ready replicas", async () => {
        const rs = (await release({ canaryWeight: 10 })).map((r) =>
            r.name === "shop-canary" ? edit(r, withStatus()) : r,
        );
        assert.deepStrictEqual(await runStack(readyReplicasPolicy, rs), [
            'VirtualService prod/shop sends 10% of route "weighted" to subset "canary", but Deployment prod/shop-canary has 0 ready replicas; a subset needs at least 1 ready whenever a route reaches it',
        ]);
        const ready = rs.map((r) => (r.name === "shop-canary" ? edit(r, withStatus(1)) : r));
        assert.deepStrictEqual(await runStack(readyReplicasPolicy, ready), []);
    });

    it("counts header and mirror routes, and takes the minimum from the config", async () => {
        const rs = (await release({ canaryWeight: 0, canaryHeader: { name: "x-canary", value: "1" } })).map((r) =>
            r.name === "shop-canary" ? edit(r, (p) => (p.spec.replicas = 0)) : r,
        );
        assert.deepStrictEqual(await runStack(readyReplicasPolicy, rs), [
            'VirtualService prod/shop sends 100% of route "canary-header" to subset "canary", but Deployment prod/shop-canary has 0 replicas; a subset needs at least 1 ready whenever a route reaches it',
        ]);
        const mirrored = (await release({ canaryWeight: 0, mirrorPercent: 5 })).map((r) =>
            r.name === "shop-canary" ? edit(r, (p) => (p.spec.replicas = 0)) : r,
        );
        assert.match((await runStack(readyReplicasPolicy, mirrored))[0], /mirrors 5% of route "weighted"/);
        assert.deepStrictEqual(
            await runStack(readyReplicasPolicy, await release({ canaryWeight: 10 }), { minReadyReplicas: 2 }),
            [
                'VirtualService prod/shop sends 10% of route "weighted" to subset "canary", but Deployment prod/shop-canary has 1 replica; a subset needs at least 2 ready whenever a route reaches it',
            ],
        );
    });
});

describe("policy images-pinned", () => {
    const deployment = async (image: string) =>
        edit(
            one(await release(), DEPLOYMENT, "shop-canary"),
            (p) => (p.spec.template.spec.containers[0].image = image),
        );

    it("passes version tags and digests, fails :latest and untagged images", async () => {
        assert.deepStrictEqual(
            await runResource(imagesPinned, await deployment("registry.example.test/shop:2.0.0")),
            [],
        );
        assert.deepStrictEqual(
            await runResource(imagesPinned, await deployment(`registry.example.test/shop@${DIGEST}`)),
            [],
        );
        assert.deepStrictEqual(await runResource(imagesPinned, await deployment("registry.example.test/shop:latest")), [
            'container "shop" of Deployment prod/shop-canary runs image "registry.example.test/shop:latest", which is tagged :latest; pin a version tag or a digest',
        ]);
        assert.deepStrictEqual(await runResource(imagesPinned, await deployment("localhost:5000/shop")), [
            'container "shop" of Deployment prod/shop-canary runs image "localhost:5000/shop", which has no tag (so means :latest); pin a version tag or a digest',
        ]);
    });

    it("requires a digest where configured", async () => {
        const config = { requireDigest: true };
        assert.deepStrictEqual(
            await runResource(imagesPinned, await deployment("registry.example.test/shop:2.0.0"), config),
            [
                'container "shop" of Deployment prod/shop-canary runs image "registry.example.test/shop:2.0.0"; pin it by digest (image@sha256:...)',
            ],
        );
        assert.deepStrictEqual(
            await runResource(imagesPinned, await deployment(`registry.example.test/shop:2.0.0@${DIGEST}`), config),
            [],
        );
        assert.deepStrictEqual(parseImage(`r.test:5000/a/b:1.2@${DIGEST}`), { tag: "1.2", digest: DIGEST });
    });

    it("requires a digest on the stacks of digestStacks only (opt-in: none by default)", async () => {
        const onStack = async (stack: string, image: string) =>
            edit(
                one(await release({}, stack), DEPLOYMENT, "shop-canary"),
                (p) => (p.spec.template.spec.containers[0].image = image),
            );
        const config = { digestStacks: ["prod"] };
        assert.deepStrictEqual(
            await runResource(imagesPinned, await onStack("prod", "registry.example.test/shop:2.0.0"), config),
            [
                'container "shop" of Deployment prod/shop-canary runs image "registry.example.test/shop:2.0.0"; on stack prod images must be pinned by digest (image@sha256:...)',
            ],
        );
        for (const image of [`registry.example.test/shop@${DIGEST}`, `registry.example.test/shop:2.0.0@${DIGEST}`]) {
            assert.deepStrictEqual(await runResource(imagesPinned, await onStack("prod", image), config), [], image);
        }
        assert.deepStrictEqual(
            await runResource(imagesPinned, await onStack("staging", "registry.example.test/shop:2.0.0"), config),
            [],
            "other stacks keep version tags",
        );
        assert.deepStrictEqual(
            await runResource(imagesPinned, await onStack("prod", "registry.example.test/shop:2.0.0")),
            [],
            "no stack by default",
        );
        assert.deepStrictEqual(
            await runResource(imagesPinned, await onStack("prod", "registry.example.test/shop:latest"), config),
            [
                'container "shop" of Deployment prod/shop-canary runs image "registry.example.test/shop:latest", which is tagged :latest; pin a version tag or a digest',
            ],
            ":latest keeps its own message",
        );
    });
});

describe("policy gateway-min-tls", () => {
    const gateway = async (minProtocolVersion?: string) =>
        edit(one(await release(), GATEWAY), (p) => {
            if (minProtocolVersion === undefined) {
                delete p.spec.servers[0].tls.minProtocolVersion;
            } else {
                p.spec.servers[0].tls.minProtocolVersion = minProtocolVersion;
            }
        });

    it("passes CanaryRelease's Gateway, fails TLS older than 1.2", async () => {
        assert.deepStrictEqual(await runResource(gatewayMinTls, one(await release(), GATEWAY)), []);
        assert.deepStrictEqual(await runResource(gatewayMinTls, await gateway("TLSV1_1")), [
            "Gateway prod/shop server 0 (port 443) accepts TLSV1_1; the minimum TLS version must be TLSV1_2 or later",
        ]);
    });

    it("takes Envoy's default (1.2) for an unset minimum, and a stricter minimum from the config", async () => {
        assert.deepStrictEqual(await runResource(gatewayMinTls, await gateway(undefined)), []);
        assert.deepStrictEqual(await runResource(gatewayMinTls, await gateway(undefined), { minVersion: "TLSV1_3" }), [
            "Gateway prod/shop server 0 (port 443) accepts TLSV1_2 (unset: Envoy's default); the minimum TLS version must be TLSV1_3 or later",
        ]);
        assert.deepStrictEqual(
            await runResource(gatewayMinTls, await gateway("TLSV1_3"), { minVersion: "TLSV1_3" }),
            [],
        );
    });
});

describe("policy no-secrets-in-plain-config", () => {
    it("fails secret-looking literal env values and ConfigMap data", async () => {
        const rs = await release({ env: { LOG_LEVEL: "info", DB_PASSWORD: "hunter2" } });
        assert.deepStrictEqual(await runResource(noPlainSecrets, one(rs, DEPLOYMENT, "shop-stable")), [
            'container "shop" of Deployment prod/shop-stable sets DB_PASSWORD as a literal value, which looks like a secret; take it from a Secret (valueFrom.secretKeyRef)',
        ]);
        const cm = {
            type: "kubernetes:core/v1:ConfigMap",
            name: "cfg",
            urn: urnOf("kubernetes:core/v1:ConfigMap", "cfg"),
            props: {
                metadata: { name: "cfg", namespace: "prod" },
                data: { "tls.pem": "-----BEGIN EC PRIVATE KEY-----\n..." },
            },
        };
        assert.deepStrictEqual(await runResource(noPlainSecrets, cm), [
            'ConfigMap prod/cfg holds "tls.pem", which looks like a secret; store it in a Secret',
        ]);
    });

    it("passes values taken from Secrets and plain settings, with the names from the config", async () => {
        const rs = await release({ env: { LOG_LEVEL: "info" } });
        const fromSecret = edit(one(rs, DEPLOYMENT, "shop-stable"), (p) =>
            p.spec.template.spec.containers[0].env.push({
                name: "API_TOKEN",
                valueFrom: { secretKeyRef: { name: "s", key: "k" } },
            }),
        );
        assert.deepStrictEqual(await runResource(noPlainSecrets, fromSecret), []);
        assert.strictEqual(
            (await runResource(noPlainSecrets, one(rs, DEPLOYMENT, "shop-stable"), { secretNamePattern: "^log_" }))
                .length,
            1,
        );
    });
});

describe("policy pack", () => {
    it("has eight mandatory policies with unique names, each configurable with defaults", () => {
        const list = policies({ previous: () => Promise.resolve(undefined), config: () => ({}) });
        const names = list.map((p) => p.name);
        assert.deepStrictEqual(names, [
            "istio-route-weights",
            "istio-subsets-defined",
            "canary-weight-step",
            "canary-full-weight",
            "canary-ready-replicas",
            "images-pinned",
            "gateway-min-tls",
            "no-secrets-in-plain-config",
        ]);
        for (const p of list) {
            assert.strictEqual(p.enforcementLevel, "mandatory");
            const props = Object.values(p.configSchema?.properties ?? {});
            assert.ok(props.length > 0 && props.every((s) => typeof s === "object" && s.default !== undefined), p.name);
        }
    });
});

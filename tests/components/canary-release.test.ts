import * as assert from "assert";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { DependencyRecorder, isSecretValue, plain, RecordingMocks, value, withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";
import { shopPair } from "../fixtures/tls";

const ISTIO = "kubernetes:networking.istio.io/v1";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HOST = "shop.prod.svc.cluster.local";

const args = releaseArgs;

async function deploy(
    a: CanaryReleaseArgs,
): Promise<{ mocks: RecordingMocks; deps: DependencyRecorder; release: CanaryRelease }> {
    const deps = new DependencyRecorder();
    let release: CanaryRelease | undefined;
    const mocks = await withMocks(() => {
        release = new CanaryRelease("shop", a, { transformations: [deps.transformation] });
    });
    return { mocks, deps, release: release! };
}

const deployment = (m: RecordingMocks, track: string) => m.one(DEPLOYMENT, `shop-${track}`).inputs;
const istio = (m: RecordingMocks, kind: string) => m.one(`${ISTIO}:${kind}`).inputs;

describe("CanaryRelease", () => {
    it("registers exactly the namespace, TLS secret, service account, two Deployments and their budgets, Service and five Istio resources", async () => {
        const { mocks } = await deploy(args());
        assert.deepStrictEqual(
            mocks
                .custom()
                .map((r) => `${r.type} ${r.name}`)
                .sort(),
            [
                `${DEPLOYMENT} shop-canary`,
                `${DEPLOYMENT} shop-stable`,
                "kubernetes:core/v1:Namespace shop-ns",
                "kubernetes:core/v1:Secret shop-tls",
                "kubernetes:core/v1:Service shop-svc",
                "kubernetes:core/v1:ServiceAccount shop-sa",
                `${ISTIO}:DestinationRule shop-dr`,
                `${ISTIO}:Gateway shop-gw`,
                `${ISTIO}:VirtualService shop-vs`,
                "kubernetes:policy/v1:PodDisruptionBudget shop-canary-pdb",
                "kubernetes:policy/v1:PodDisruptionBudget shop-stable-pdb",
                "kubernetes:security.istio.io/v1:AuthorizationPolicy shop-authz",
                "kubernetes:security.istio.io/v1:PeerAuthentication shop-peer-auth",
            ],
        );
        assert.deepStrictEqual(
            mocks.ofType("istio-canary:index:CanaryRelease").map((r) => r.name),
            ["shop"],
        );
    });

    it("labels the namespace for sidecar injection and Pod Security", async () => {
        const { mocks } = await deploy(args({ podSecurityEnforce: "restricted" }));
        assert.deepStrictEqual(mocks.one("kubernetes:core/v1:Namespace").inputs.metadata, {
            name: "prod",
            labels: {
                "istio-injection": "enabled",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        });
        const rev = await deploy(args({ istioRevision: "1-28" }));
        const labels = rev.mocks.one("kubernetes:core/v1:Namespace").inputs.metadata.labels;
        assert.strictEqual(labels["istio.io/rev"], "1-28");
        assert.strictEqual(labels["istio-injection"], undefined);
        assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("uses an existing namespace when asked", async () => {
        const { mocks } = await deploy(args({ createNamespace: false }));
        assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Namespace"), []);
    });

    it("stores the TLS pair as a kubernetes.io/tls Secret in the gateway namespace, its data a Pulumi secret", async () => {
        const { mocks } = await deploy(args());
        const secret = mocks.one("kubernetes:core/v1:Secret").inputs;
        assert.strictEqual(secret.type, "kubernetes.io/tls");
        assert.deepStrictEqual(secret.metadata, {
            name: "prod-shop-tls",
            namespace: "istio-ingress",
            labels: { app: "shop" },
        });
        assert.ok(isSecretValue(secret.stringData), "the Secret's data (tls.key included) is a Pulumi secret");
        const data = plain<Record<string, unknown>>(secret.stringData);
        assert.strictEqual(plain(data["tls.key"]), shopPair().key);
        assert.strictEqual(plain(data["tls.crt"]), shopPair().cert);
    });

    it("names the TLS Secret after the app's namespace too: two environments sharing a gateway never write one Secret", async () => {
        const names = async (namespace: string) => {
            const { mocks } = await deploy(args({ namespace }));
            return [
                mocks.one("kubernetes:core/v1:Secret").inputs.metadata.name as string,
                istio(mocks, "Gateway").spec.servers[0].tls.credentialName as string,
            ];
        };
        assert.deepStrictEqual(await names("shop-dev"), ["shop-dev-shop-tls", "shop-dev-shop-tls"]);
        assert.deepStrictEqual(await names("shop-staging"), ["shop-staging-shop-tls", "shop-staging-shop-tls"]);
        assert.deepStrictEqual(await names("shop"), ["shop-tls", "shop-tls"]);
    });

    it("references an existing TLS secret without creating one", async () => {
        const { mocks } = await deploy(args({ tls: { secretName: "wildcard-tls" } }));
        assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Secret"), []);
        assert.strictEqual(istio(mocks, "Gateway").spec.servers[0].tls.credentialName, "wildcard-tls");
    });

    it("runs two Deployments selected on app and track, with the version only in pod labels", async () => {
        const { mocks } = await deploy(args());
        for (const [track, image, version] of [
            ["stable", "registry.example.test/shop:1.0.0", "v1"],
            ["canary", "registry.example.test/shop:2.0.0", "v2"],
        ]) {
            const d = deployment(mocks, track);
            assert.strictEqual(d.metadata.name, `shop-${track}`);
            assert.strictEqual(d.metadata.namespace, "prod");
            assert.deepStrictEqual(d.spec.selector, { matchLabels: { app: "shop", track } });
            assert.deepStrictEqual(d.spec.template.metadata.labels, { app: "shop", track, version });
            assert.strictEqual(d.spec.template.spec.containers[0].image, image);
            assert.deepStrictEqual(d.spec.strategy, {
                type: "RollingUpdate",
                rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 },
            });
        }
        assert.strictEqual(deployment(mocks, "stable").spec.replicas, 2);
        assert.strictEqual(deployment(mocks, "canary").spec.replicas, 1);
    });

    it("gives containers probes, resources and a security context that passes the restricted level", async () => {
        const { mocks } = await deploy(args({ env: { B: "2", A: "1" }, probePath: "/healthz", containerPort: 9898 }));
        const pod = deployment(mocks, "canary").spec.template.spec;
        const c = pod.containers[0];
        assert.deepStrictEqual(c.ports, [{ name: "http", containerPort: 9898, protocol: "TCP" }]);
        assert.deepStrictEqual(c.env, [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
            { name: "RELEASE_TRACK", value: "canary" },
        ]);
        assert.deepStrictEqual(c.readinessProbe, { httpGet: { path: "/healthz", port: 9898 }, periodSeconds: 5 });
        assert.strictEqual(c.livenessProbe.httpGet.path, "/healthz");
        assert.deepStrictEqual(c.resources, {
            requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "64Mi" },
            limits: { cpu: "500m", memory: "256Mi", "ephemeral-storage": "512Mi" },
        });
        // The "restricted" Pod Security Standard, field by field.
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        assert.strictEqual(c.securityContext.runAsNonRoot, true);
        assert.deepStrictEqual(c.securityContext.seccompProfile, { type: "RuntimeDefault" });
        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
        assert.ok(pod.securityContext.runAsUser > 0);
        assert.strictEqual(pod.hostNetwork, undefined);
    });

    it("runs the stable version on the canary track when no release is in progress", async () => {
        const { mocks } = await deploy(args({ canary: undefined, canaryWeight: 0 }));
        const c = deployment(mocks, "canary");
        assert.strictEqual(c.spec.template.spec.containers[0].image, "registry.example.test/shop:1.0.0");
        assert.strictEqual(c.spec.template.metadata.labels.version, "v1");
        assert.deepStrictEqual(c.spec.selector.matchLabels, { app: "shop", track: "canary" });
    });

    it("scales the canary with its weight when asked", async () => {
        for (const [w, n] of [
            [10, 1],
            [50, 3],
            [100, 5],
        ]) {
            const { mocks, release } = await deploy(args({ canaryWeight: w, replicas: 5, canaryScaling: true }));
            assert.strictEqual(deployment(mocks, "canary").spec.replicas, n);
            assert.strictEqual(deployment(mocks, "stable").spec.replicas, 5, "stable keeps full capacity");
            assert.strictEqual(await value(release.canaryReplicas), n);
        }
    });

    it("exposes both tracks through one Service with a port named for Istio's protocol selection", async () => {
        const { mocks } = await deploy(args({ protocol: "grpc", servicePort: 9000 }));
        const svc = mocks.one("kubernetes:core/v1:Service").inputs;
        assert.deepStrictEqual(svc.spec.selector, { app: "shop" });
        assert.deepStrictEqual(svc.spec.ports, [{ name: "grpc", appProtocol: "grpc", port: 9000, targetPort: "grpc" }]);
    });

    it("defines stable and canary subsets with ISTIO_MUTUAL", async () => {
        const { mocks } = await deploy(
            args({ outlierDetection: { consecutive5xxErrors: 3, interval: "5s", baseEjectionTime: "1m" } }),
        );
        const dr = istio(mocks, "DestinationRule");
        assert.strictEqual(dr.apiVersion, "networking.istio.io/v1");
        assert.deepStrictEqual(dr.metadata, { name: "shop", namespace: "prod", labels: { app: "shop" } });
        assert.deepStrictEqual(dr.spec, {
            host: HOST,
            exportTo: ["prod", "istio-ingress"],
            trafficPolicy: {
                tls: { mode: "ISTIO_MUTUAL" },
                outlierDetection: { consecutive5xxErrors: 3, interval: "5s", baseEjectionTime: "1m" },
            },
            subsets: [
                { name: "stable", labels: { app: "shop", track: "stable" } },
                { name: "canary", labels: { app: "shop", track: "canary" } },
            ],
        });
    });

    it("serves HTTPS on the gateway pods the chart labels, and redirects HTTP", async () => {
        const { mocks } = await deploy(args());
        const gw = istio(mocks, "Gateway");
        assert.deepStrictEqual(gw.spec.selector, { app: "istio-ingressgateway", istio: "ingressgateway" });
        assert.deepStrictEqual(
            gw.spec.servers.map((s: { port: { protocol: string } }) => s.port.protocol),
            ["HTTPS", "HTTP"],
        );
        assert.deepStrictEqual(gw.spec.servers[0].tls, {
            mode: "SIMPLE",
            credentialName: "prod-shop-tls",
            minProtocolVersion: "TLSV1_2",
        });
    });

    it("routes header, cookie and weighted traffic with the configured weights", async () => {
        const { mocks, release } = await deploy(
            args({
                canaryWeight: 30,
                canaryHeader: { name: "x-canary", value: "true" },
                canaryCookie: { name: "version", value: "v2" },
                mirrorPercent: 5,
            }),
        );
        const vs = istio(mocks, "VirtualService");
        assert.deepStrictEqual(vs.spec.hosts, ["shop.example.test", HOST]);
        assert.deepStrictEqual(vs.spec.gateways, ["prod/shop", "mesh"]);
        assert.deepStrictEqual(
            vs.spec.http.map((r: { name: string }) => r.name),
            ["canary-header", "canary-cookie", "weighted"],
        );
        const weighted = vs.spec.http[2];
        assert.deepStrictEqual(
            weighted.route.map((d: { destination: { subset: string }; weight: number }) => [
                d.destination.subset,
                d.weight,
            ]),
            [
                ["stable", 70],
                ["canary", 30],
            ],
        );
        assert.deepStrictEqual(weighted.mirrorPercentage, { value: 5 });
        assert.deepStrictEqual(await value(release.weights), { stable: 70, canary: 30 });
        assert.strictEqual(await value(release.url), "https://shop.example.test/");
        assert.strictEqual(
            await value(release.splitQuery),
            'sum by (destination_version) (rate(istio_requests_total{reporter="destination",destination_service="shop.prod.svc.cluster.local"}[1m]))',
        );
    });

    it("session affinity: the canary's version is the cookie's value while it has weight; none at 0; a bad cookie name is refused", async () => {
        const routesAt = async (canaryWeight: number) => {
            const { mocks } = await deploy(
                args({ canaryWeight, sessionAffinity: { cookieName: "canary-session", maxAgeSeconds: 600 } }),
            );
            return istio(mocks, "VirtualService").spec.http as {
                name: string;
                route: { destination: { subset: string }; headers?: unknown }[];
            }[];
        };
        const on = await routesAt(30);
        assert.deepStrictEqual(
            on.map((r) => r.name),
            ["canary-session", "weighted"],
        );
        assert.deepStrictEqual(on[1].route[1].headers, {
            response: { add: { "set-cookie": "canary-session=v2; Max-Age=600; Path=/" } },
        });
        const off = await routesAt(0);
        assert.deepStrictEqual(
            off.map((r) => r.name),
            ["weighted"],
        );
        assert.strictEqual(off[0].route[1].headers, undefined);
        await assert.rejects(deploy(args({ sessionAffinity: { cookieName: "a b", maxAgeSeconds: 0 } })), {
            message:
                'sessionAffinity.cookieName must be a cookie name such as "canary-session"; got "a b"\n' +
                "sessionAffinity.maxAgeSeconds must be an integer from 1 to 31536000; got 0",
        });
    });

    it("exports the VirtualService and DestinationRule to the app's and the gateway's namespaces only, unless asked", async () => {
        const exported = async (a: CanaryReleaseArgs) => {
            const { mocks } = await deploy(a);
            return [istio(mocks, "VirtualService").spec.exportTo, istio(mocks, "DestinationRule").spec.exportTo];
        };
        assert.deepStrictEqual(await exported(args()), [
            ["prod", "istio-ingress"],
            ["prod", "istio-ingress"],
        ]);
        const sameNs = { namespace: "prod", selector: { istio: "ingressgateway" } };
        assert.deepStrictEqual(await exported(args({ gateway: sameNs, exportTo: ["callers"] })), [
            ["prod", "callers"],
            ["prod", "callers"],
        ]);
        assert.deepStrictEqual(await exported(args({ exportTo: ["*"] })), [["*"], ["*"]]);
        await assert.rejects(
            deploy(args({ exportTo: ["Callers"] })),
            /exportTo must hold namespaces \(DNS-1123 labels\) or "\*"; got "Callers"/,
        );
    });

    it("moves traffic only after both Deployments, the subsets and the gateway exist", async () => {
        const { deps } = await deploy(args());
        assert.deepStrictEqual(await deps.of("shop-vs"), [
            "shop-canary",
            "shop-dr",
            "shop-gw",
            "shop-ns",
            "shop-stable",
        ]);
        assert.deepStrictEqual(await deps.of("shop-stable"), ["shop-ns", "shop-sa"]);
        assert.deepStrictEqual(await deps.of("shop-canary"), ["shop-ns", "shop-sa"]);
    });

    it("rejects invalid arguments with every problem before registering anything", async () => {
        let error: Error | undefined;
        const mocks = await withMocks(() => {
            try {
                new CanaryRelease("shop", args({ canaryWeight: 150, canary: undefined, replicas: 0, hosts: [] }));
            } catch (e) {
                error = e as Error;
            }
        });
        assert.strictEqual(
            error?.message,
            [
                "canaryWeight must be an integer from 0 to 100; got 150",
                "replicas must be an integer from 1 to 2147483647; got 0",
                'hosts must list at least one host name, such as ["app.example.com"]',
                "canaryWeight must be 0 while no canary is set (set canary first); got 150",
            ].join("\n"),
        );
        assert.deepStrictEqual(mocks.resources, []);
    });
});

/**
 * CanaryRelease with Outputs for arguments: values computed by other resources reach the resources, the same rules
 * check them once they resolve, and a value not known yet (preview) holds back only what is built from it.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { checkedInputs, validateCanaryReleaseArgs } from "../../components/canary-release-rules";
import { RecordingMocks, value, withMocks } from "../harness";
import { releaseArgs } from "../fixtures/release";
import { shopPair } from "../fixtures/tls";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const VS = "kubernetes:networking.istio.io/v1:VirtualService";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const BAD_IMAGE =
    'canary.image must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got "Not An Image"';

const args = releaseArgs;

/** An Output that resolves, after a turn of the event loop, to `v`. */
const later = <T>(v: T) => pulumi.output(new Promise<T>((resolve) => setTimeout(() => resolve(v), 5)));

/** The promise behind an Output (internal to @pulumi/pulumi, present throughout 3.x), to see it reject. */
const promiseOf = <T>(o: pulumi.Output<T>) => (o as unknown as { promise(): Promise<T> }).promise();

/** Runs `body` under mocks as a preview (`pulumi preview`), where unknown values stay unknown. */
async function previewWithMocks(body: () => void): Promise<RecordingMocks> {
    const mocks = new RecordingMocks();
    await pulumi.runtime.setMocks(mocks, "istio-canary", "test", true);
    body();
    await pulumi.runtime.disconnect();
    return mocks;
}

describe("CanaryRelease with Outputs", () => {
    it("runs an image that another resource outputs on the canary Deployment", async () => {
        const image = `registry.example.test/shop@${DIGEST}`;
        let release: CanaryRelease | undefined;
        const mocks = await withMocks(() => {
            // Stands in for an image build: any resource whose output is an image reference.
            const build = new k8s.core.v1.ConfigMap("build", { data: { image } });
            release = new CanaryRelease(
                "shop",
                args({ canary: { image: build.data.apply((d) => d.image), version: later("v2") } }),
            );
        });
        const canary = mocks.one(DEPLOYMENT, "shop-canary").inputs;
        assert.strictEqual(canary.spec.template.spec.containers[0].image, image);
        assert.deepStrictEqual(canary.spec.template.metadata.labels, { app: "shop", track: "canary", version: "v2" });
        const stable = mocks.one(DEPLOYMENT, "shop-stable").inputs;
        assert.strictEqual(stable.spec.template.spec.containers[0].image, "registry.example.test/shop:1.0.0");
        assert.deepStrictEqual(await value(release!.weights), { stable: 90, canary: 10 });
    });

    it("takes weights, replicas, hosts, gateway and TLS from Outputs", async () => {
        let release: CanaryRelease | undefined;
        const { cert, key } = shopPair();
        const mocks = await withMocks(() => {
            release = new CanaryRelease(
                "shop",
                args({
                    canaryWeight: later(30),
                    replicas: later(4),
                    canaryReplicas: later(2),
                    hosts: later(["a.example.test", "b.example.test"]),
                    tls: { cert: later(cert), key: pulumi.secret(key) },
                    gateway: { namespace: later("edge"), selector: later({ istio: "edge" }) },
                }),
            );
        });
        const vs = mocks.one(VS).inputs.spec;
        assert.deepStrictEqual(vs.hosts, ["a.example.test", "b.example.test", "shop.prod.svc.cluster.local"]);
        assert.deepStrictEqual(
            vs.http[0].route.map((d: { weight: number }) => d.weight),
            [70, 30],
        );
        assert.strictEqual(mocks.one(DEPLOYMENT, "shop-stable").inputs.spec.replicas, 4);
        assert.strictEqual(mocks.one(DEPLOYMENT, "shop-canary").inputs.spec.replicas, 2);
        assert.strictEqual(mocks.one("kubernetes:core/v1:Secret").inputs.metadata.namespace, "edge");
        assert.deepStrictEqual(mocks.one(`kubernetes:networking.istio.io/v1:Gateway`).inputs.spec.selector, {
            istio: "edge",
        });
        assert.strictEqual(await value(release!.url), "https://a.example.test/");
        assert.strictEqual(await value(release!.canaryReplicas), 2);
    });

    it("keeps the routes known in a preview while the canary image is not known yet", async () => {
        const mocks = await previewWithMocks(() => {
            new CanaryRelease(
                "shop",
                args({ canary: { image: pulumi.output(pulumi.unknown) as never, version: "v2" } }),
            );
        });
        const weighted = mocks.one(VS).inputs.spec.http[0];
        assert.deepStrictEqual(
            weighted.route.map((d: { destination: { subset: string }; weight: number }) => [
                d.destination.subset,
                d.weight,
            ]),
            [
                ["stable", 90],
                ["canary", 10],
            ],
        );
        assert.strictEqual(
            mocks.one(DEPLOYMENT, "shop-stable").inputs.spec.template.spec.containers[0].image,
            "registry.example.test/shop:1.0.0",
        );
        const canaryImage: unknown = mocks.one(DEPLOYMENT, "shop-canary").inputs.spec.template.spec.containers[0].image;
        assert.notStrictEqual(typeof canaryImage, "string", "the canary's image is not known yet");
    });
});

describe("CanaryRelease argument rules on Outputs", () => {
    it("checks known values before registering anything, and leaves Outputs to apply", () => {
        assert.deepStrictEqual(
            validateCanaryReleaseArgs(
                args({ canary: { image: later("Not An Image"), version: "v2" }, canaryWeight: 150 }),
            ),
            ["canaryWeight must be an integer from 0 to 100; got 150"],
        );
        assert.deepStrictEqual(validateCanaryReleaseArgs(args({ canary: { image: "Not An Image", version: "v2" } })), [
            BAD_IMAGE,
        ]);
    });

    it("needs the values that shape resources to be known", () => {
        assert.deepStrictEqual(
            validateCanaryReleaseArgs(args({ app: later("shop") as never, protocol: later("grpc") as never })),
            [
                "app must be a known value, not an Output: it decides which resources exist and what they are named",
                "protocol must be a known value, not an Output: it decides which resources exist and what they are named",
            ],
        );
    });

    it("checks Outputs once they resolve, with the same messages (secret values not shown)", async () => {
        const fail = (message: string) => new Error(message);
        const bad = args({ canary: { image: later("Not An Image"), version: later("v2") } });
        await assert.rejects(promiseOf(checkedInputs(bad, ["canary"], fail)), { message: BAD_IMAGE });
        const zero = args({ canaryReplicas: later(0), canaryWeight: later(20) });
        await assert.rejects(promiseOf(checkedInputs(zero, ["canaryWeight", "canaryReplicas"], fail)), {
            message:
                "canaryReplicas must be at least 1 while traffic can reach the canary (canaryWeight above 0, canaryHeader, canaryCookie or mirrorPercent); got 0",
        });
        await assert.rejects(promiseOf(checkedInputs(args({ hosts: later([]) }), ["hosts"], fail)), {
            message: 'hosts must list at least one host name, such as ["app.example.com"]',
        });
        const secret = args({ canary: { image: pulumi.secret("Not An Image"), version: "v2" } });
        await assert.rejects(promiseOf(checkedInputs(secret, ["canary"], fail)), {
            message:
                'canary.image must be a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"; got a secret value (not shown)',
        });
        const good = args({ canaryWeight: later(40), canaryReplicas: 3 });
        assert.deepStrictEqual(await value(checkedInputs(good, ["canaryWeight", "canaryReplicas"], fail)), {
            canaryWeight: 40,
            canaryReplicas: 3,
        });
    });

    it("tells which TLS fields to set", () => {
        const tls = (t: CanaryReleaseArgs["tls"]) => validateCanaryReleaseArgs(args({ tls: t }));
        assert.deepStrictEqual(tls({}), [
            "tls must set cert and key (PEM) or secretName (an existing kubernetes.io/tls Secret)",
        ]);
        assert.deepStrictEqual(tls({ cert: "x", secretName: "s" }), [
            "tls must set either secretName or cert and key, not both",
        ]);
        assert.deepStrictEqual(tls({ cert: later("x") }), ["tls must set cert and key together"]);
        assert.deepStrictEqual(tls({ secretName: later("wildcard-tls") }), []);
    });
});

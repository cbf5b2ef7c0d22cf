import * as assert from "assert";
import { releaseConfig, SECRET_KEYS, validConfig } from "./fixtures/config";
import { DependencyRecorder, isSecretValue, plain, ProgramRun, Recorded, runProgram } from "./harness";
import { shopPair } from "./fixtures/tls";

const VS = "kubernetes:networking.istio.io/v1:VirtualService";

async function run(config: Record<string, string>, secret = SECRET_KEYS): Promise<ProgramRun> {
    const result = await runProgram(config, secret);
    if (result.error) {
        throw result.error;
    }
    return result;
}

function weighted(r: ProgramRun): [string, number][] {
    const vs = r.mocks.one(VS).inputs;
    const route = vs.spec.http.find((h: { name: string }) => h.name === "weighted");
    return route.route.map((d: { destination: { subset: string }; weight: number }) => [
        d.destination.subset,
        d.weight,
    ]);
}

/** Inputs of every custom resource by name, for comparing two runs. */
function inputsByName(r: ProgramRun): Map<string, string> {
    return new Map(r.mocks.custom().map((x: Recorded) => [`${x.type}::${x.name}`, JSON.stringify(x.inputs)]));
}

function changed(a: ProgramRun, b: ProgramRun): string[] {
    const before = inputsByName(a);
    const after = inputsByName(b);
    assert.deepStrictEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources exist");
    return [...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort();
}

describe("program (index.ts) under mocks", function () {
    this.timeout(60000);

    it("registers Istio and the release: 6 mesh (Istio CNI included) + 13 release resources", async () => {
        const r = await run(validConfig());
        assert.strictEqual(r.mocks.custom().length, 19);
        assert.deepStrictEqual(
            r.mocks.resources
                .filter((x) => !x.custom)
                .map((x) => x.type)
                .sort(),
            ["istio-canary:index:CanaryRelease", "istio-canary:index:IstioMesh"],
        );
        assert.deepStrictEqual(r.exports?.weights, { stable: 100, canary: 0 });
        assert.strictEqual(r.exports?.url, "https://shop.example.test/");
        assert.strictEqual(r.exports?.namespace, "shop");
        assert.deepStrictEqual(r.exports?.stable, { image: "registry.example.test/shop:1.0.0", version: "v1" });
        assert.deepStrictEqual(r.exports?.canary, {
            image: "registry.example.test/shop:1.0.0",
            version: "v1",
            replicas: 1,
        });
    });

    it("the release waits for Istio: CanaryRelease depends on the mesh (its CRDs, sidecar injection)", async () => {
        const deps = new DependencyRecorder();
        const r = await runProgram(validConfig(), SECRET_KEYS, [deps.transformation]);
        assert.strictEqual(r.error, undefined);
        assert.deepStrictEqual(await deps.of("shop"), ["mesh"]);
        assert.deepStrictEqual(await deps.of("mesh"), []);
    });

    it("exports what promotion needs: the stable image, its digest when pinned, and the last release", async () => {
        const digest = `sha256:${"ab".repeat(32)}`;
        const r = await run(
            validConfig({
                stableImage: `registry.example.test/shop@${digest}`,
                releaseStatus: "completed",
                releaseVersion: "v1",
                releaseImage: `registry.example.test/shop@${digest}`,
            }),
        );
        assert.deepStrictEqual(r.exports?.stable, {
            image: `registry.example.test/shop@${digest}`,
            version: "v1",
            digest,
        });
        assert.deepStrictEqual(r.exports?.release, {
            status: "completed",
            version: "v1",
            image: `registry.example.test/shop@${digest}`,
            phase: undefined,
            message: undefined,
            previousImage: undefined,
            previousVersion: undefined,
            owner: undefined,
            leaseExpires: undefined,
            gate: undefined,
            approvals: undefined,
            promotionApproval: undefined,
            failedAnalyses: undefined,
            stableReplicas: undefined,
        });
        const urn = (type: string, name: string) =>
            `urn:pulumi:test::istio-canary::istio-canary:index:CanaryRelease$kubernetes:networking.istio.io/v1:${type}::${name}`;
        assert.strictEqual(r.exports?.routingUrn, urn("VirtualService", "shop-vs"));
        // The release bot's targets and drift check (stacks/automation/driver.ts routingUrnsOf reads these).
        assert.deepStrictEqual(r.exports?.routeUrns, [urn("VirtualService", "shop-vs")]);
        assert.deepStrictEqual(r.exports?.routingUrns, [
            urn("VirtualService", "shop-vs"),
            urn("DestinationRule", "shop-dr"),
        ]);
    });

    for (const w of [0, 10, 50, 100]) {
        it(`routes ${100 - w}/${w} at canaryWeight ${w}`, async () => {
            const r = await run(releaseConfig(w));
            assert.deepStrictEqual(weighted(r), [
                ["stable", 100 - w],
                ["canary", w],
            ]);
            assert.deepStrictEqual(r.exports?.weights, { stable: 100 - w, canary: w });
        });
    }

    const options: [string, Record<string, string>, (http: { name: string; mirror?: unknown }[]) => boolean][] = [
        ["header", { canaryHeader: "x-canary" }, (h) => h.some((x) => x.name === "canary-header")],
        ["cookie", { canaryCookie: "version=v2" }, (h) => h.some((x) => x.name === "canary-cookie")],
        ["mirror", { mirrorPercent: "10" }, (h) => h.some((x) => x.mirror !== undefined)],
    ];
    for (const [name, on, present] of options) {
        it(`adds the ${name} route option only when configured`, async () => {
            const withIt = await run(releaseConfig(10, on));
            const without = await run(releaseConfig(10));
            assert.ok(present(withIt.mocks.one(VS).inputs.spec.http), `${name} on`);
            assert.ok(!present(without.mocks.one(VS).inputs.spec.http), `${name} off`);
        });
    }

    it("a shift from 10 to 50 changes only the VirtualService", async () => {
        const at10 = await run(releaseConfig(10));
        const at50 = await run(releaseConfig(50));
        assert.deepStrictEqual(changed(at10, at50), [`${VS}::shop-vs`]);
    });

    it("with canary scaling, a shift changes the VirtualService and the canary's replicas only", async () => {
        const at10 = await run(releaseConfig(10, { canaryScaling: "true", replicas: "4" }));
        const at50 = await run(releaseConfig(50, { canaryScaling: "true", replicas: "4" }));
        assert.deepStrictEqual(changed(at10, at50), ["kubernetes:apps/v1:Deployment::shop-canary", `${VS}::shop-vs`]);
        assert.strictEqual(at50.mocks.one("kubernetes:apps/v1:Deployment", "shop-canary").inputs.spec.replicas, 2);
    });

    it("completing a release changes the stable Deployment and the route, not the mesh or the canary", async () => {
        const at100 = await run(releaseConfig(100));
        const done = await run(
            releaseConfig(0, { stableImage: "registry.example.test/shop:2.0.0", stableVersion: "v2" }),
        );
        assert.deepStrictEqual(changed(at100, done), ["kubernetes:apps/v1:Deployment::shop-stable", `${VS}::shop-vs`]);
    });

    it("puts the TLS key in the TLS Secret only: in no other resource's inputs and not in the outputs", async () => {
        // @pulumi/kubernetes marks a Secret's stringData secret whatever we pass, so what our code controls is
        // where the key goes: the right Secret key, and nowhere else.
        const r = await run(validConfig());
        const secret = r.mocks.one("kubernetes:core/v1:Secret").inputs;
        assert.ok(isSecretValue(secret.stringData), "the Secret's data is a Pulumi secret");
        assert.deepStrictEqual(plain<Record<string, string>>(secret.stringData), {
            "tls.crt": shopPair().cert,
            "tls.key": shopPair().key,
        });
        const keyBody = shopPair().key.split("\n")[1];
        const holders = r.mocks.resources
            .filter((x) => JSON.stringify(x.inputs, (_k, v: unknown) => plain(v)).includes(keyBody))
            .map((x) => `${x.type}::${x.name}`);
        assert.deepStrictEqual(holders, ["kubernetes:core/v1:Secret::shop-tls"]);
        assert.ok(!JSON.stringify(r.exports).includes(keyBody));
    });

    it("the releaseMessage stack output never shows a URL's credentials, even as an older bot stored them", async () => {
        const r = await run(
            validConfig({
                releaseStatus: "rolled-back",
                releaseMessage: "unreachable at https://u:pw@prom.example.com/?token=T0KEN",
            }),
        );
        assert.strictEqual(
            (r.exports?.release as { message: string }).message,
            "unreachable at https://***@prom.example.com/?token=***",
        );
    });

    it("mirrors releaseMirrorPercent to the canary while the release bot is in its mirror phase, and only then", async () => {
        const phase = (p: string) =>
            releaseConfig(0, {
                releaseStatus: "in-progress",
                releasePhase: p,
                releaseMirrorPercent: "30",
                releaseVersion: "v2",
            });
        const mirror = (await run(phase("mirror"))).mocks.one(VS).inputs.spec.http.at(-1);
        assert.deepStrictEqual(mirror.mirrorPercentage, { value: 30 });
        const header = (await run(phase("header"))).mocks.one(VS).inputs.spec.http.at(-1);
        assert.strictEqual(header.mirror, undefined);
    });

    const invalid: [string, Record<string, string>, string][] = [
        [
            "a fractional weight",
            releaseConfig(0, { canaryWeight: "50.5" }),
            'canaryWeight must be an integer from 0 to 100; got "50.5"',
        ],
        [
            "a weight over 100",
            releaseConfig(0, { canaryWeight: "120" }),
            'canaryWeight must be an integer from 0 to 100; got "120"',
        ],
        [
            "weight without a canary",
            validConfig({ canaryWeight: "5" }),
            "canaryWeight must be 0 while no canary is set (set canaryImage and canaryVersion first); got 5",
        ],
        [
            "an unknown key",
            validConfig({ canaryweight: "5" }),
            "istio-canary:canaryweight is not a config key of this program; did you mean canaryWeight? (see the config reference in README.md)",
        ],
        [
            "a bad service type",
            validConfig({ gatewayServiceType: "loadbalancer" }),
            'gatewayServiceType must be one of LoadBalancer, ClusterIP, NodePort; got "loadbalancer"',
        ],
        [
            "a mismatched key",
            validConfig({ tlsKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }),
            'tlsKey must be a PEM-encoded private key ("-----BEGIN PRIVATE KEY-----", RSA or EC); the value could not be parsed as one',
        ],
    ];
    for (const [what, config, message] of invalid) {
        it(`fails on ${what} with the exact message and registers nothing`, async () => {
            const r = await runProgram(config, SECRET_KEYS);
            assert.strictEqual(r.error?.message, message);
            assert.strictEqual(r.error?.name, "ConfigError");
            assert.deepStrictEqual(r.mocks.resources, [], "no resource registered");
        });
    }

    it("fails on a TLS key stored without --secret and registers nothing", async () => {
        const r = await runProgram(validConfig(), ["tlsCert"]);
        assert.match(r.error?.message ?? "", /^tlsKey must be set as a secret/);
        assert.deepStrictEqual(r.mocks.resources, []);
    });
});

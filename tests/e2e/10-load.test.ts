/**
 * Load while judging, for real: a quiet service (no user traffic at all) released with `releaseNoData: fail`.
 * Without load the canary's analysis finds no data and the release rolls back; with the bot's built-in load
 * (`--load-url`) it completes. The load goes to a test gateway on 127.0.0.1 that forwards each HTTP request,
 * headers as gRPC metadata, through the mesh's proxyless gRPC client, routed by istiod over xDS (the canary
 * header route included) to the backend processes whose outcomes Prometheus scrapes (scripts/mesh). Simulated:
 * the gateway (Envoy is not available here), so the HTTP-to-gRPC hop is the test's own.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { assertStableServes, baseConfig, E2EStack, FAST_RELEASE_POLICY, releaseCli, tearDownMesh } from "./harness";
import { LocalPrometheus } from "./prometheus";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const NS = "shop-load";
const HEADER = "x-canary";

/** An HTTP front for the mesh client: each request becomes one routed gRPC call; counts where calls went. */
class TestGateway {
    readonly byTrack: Record<string, number> = {};
    private server?: http.Server;

    constructor(private readonly client: MeshClient) {}

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => {
            const value = req.headers[HEADER];
            const metadata: Record<string, string> = typeof value === "string" ? { [HEADER]: value } : {};
            this.client.batch(1, { concurrency: 1, metadata }).then(
                (r) => {
                    for (const [track, n] of Object.entries(r.byTrack)) {
                        this.byTrack[track] = (this.byTrack[track] ?? 0) + n;
                    }
                    res.writeHead(r.ok === 1 ? 200 : 503).end(JSON.stringify(r.byTrackVersion));
                },
                (e: Error) => res.writeHead(502).end(e.message),
            );
        });
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    }

    async stop(): Promise<void> {
        await new Promise((r) => this.server?.close(r));
    }
}

describe("e2e: built-in load for a quiet service", function () {
    this.timeout(15 * 60 * 1000);
    let stack: E2EStack;
    let mesh: Mesh;
    let gateway: TestGateway;
    let gatewayUrl: string;
    let prometheus: LocalPrometheus;
    let reportDir: string;

    const release = (args: string[]) => releaseCli(stack, reportDir, args);

    before(async () => {
        mesh = Mesh.start({ namespace: NS, app: "shop", servicePort: 80, containerPort: 8080, label: "load" });
        prometheus = new LocalPrometheus();
        const url = await prometheus.start(await mesh.startMetricsExporter());
        reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-reports-"));
        stack = await E2EStack.create(
            "e2e-load",
            baseConfig(NS, {
                protocol: "grpc",
                prometheusUrl: url,
                ...FAST_RELEASE_POLICY,
                releaseNoData: "fail",
                releaseFailureThreshold: "1",
                canaryHeader: HEADER,
                canaryHeaderValue: "always",
                releaseLoadRate: "20",
            }),
        );
        await stack.up();
        await mesh.waitForBackends(
            (l) => l.filter((b) => b.track === "stable").length === 2 && l.some((b) => b.track === "canary"),
            "2 stable and 1 canary backend",
        );
        const client = await mesh.startClient();
        await client.waitRouted();
        gateway = new TestGateway(client);
        gatewayUrl = await gateway.start();
    });

    after(() => tearDownMesh({ first: () => gateway?.stop(), mesh, stack, prometheus, reportDir }));

    it("without load, a quiet service's canary has no data and `releaseNoData: fail` rolls it back", async () => {
        const { code, out, report } = await release(["--image", "registry.example.test/shop:2.0.0", "--version", "v2"]);
        assert.strictEqual(code, 1, out);
        assert.strictEqual(report.outcome, "rolled-back");
        const analysis = report.events.find((e) => e.kind === "analysis")!;
        assert.strictEqual(analysis.verdict, "fail");
        assert.strictEqual(analysis.load, undefined, "no load was sent");
        assert.ok(
            analysis.checks!.some((c) => c.verdict === "no-data"),
            JSON.stringify(analysis.checks),
        );
        assert.deepStrictEqual(gateway.byTrack, {}, "no request reached the gateway");
        assertStableServes(NS, "registry.example.test/shop:1.0.0", "v1");
    });

    it("with the built-in load through the canary header route, the same release completes", async () => {
        const { code, out, report } = await release([
            "--image",
            "registry.example.test/shop:2.0.0",
            "--version",
            "v2",
            "--load-url",
            gatewayUrl,
        ]);
        assert.strictEqual(code, 0, out);
        assert.strictEqual(report.outcome, "completed");
        const analyses = report.events.filter((e) => e.kind === "analysis");
        assert.deepStrictEqual(
            analyses.map((e) => `${e.weight}:${e.verdict}`),
            ["50:pass", "100:pass"],
        );
        for (const a of analyses) {
            const load = a.load!;
            // A new canary pod's backend may take a moment to be routed: nearly all, not all, load requests answer.
            assert.ok(load.sent >= 20 && load.ok >= 0.9 * load.sent, JSON.stringify(load));
            const sr = a.checks!.find((c) => c.name === "success-rate")!;
            assert.ok(sr.value !== undefined && sr.value >= 99, `success rate from Prometheus: ${sr.value}`);
        }
        // The header route sent every load request to the canary, as istiod routed it.
        assert.deepStrictEqual(Object.keys(gateway.byTrack), ["canary"], JSON.stringify(gateway.byTrack));
        assertStableServes(NS, "registry.example.test/shop:2.0.0", "v2");
    });
});

/**
 * The release bot's real surroundings, shared by e2e 02 (one bot) and e2e 12 (several runners): the app's pods as
 * proxyless gRPC backends (scripts/mesh), a real Prometheus scraping their outcomes under Istio's metric names, a
 * client routed by istiod sending load through every release, and a stack of the program whose release policy
 * keeps the bot's waits short.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { baseConfig, E2EStack } from "./harness";
import { LocalPrometheus } from "./prometheus";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";

/** What a test tears down (tearDownMesh): filled in as each part starts, so a failed start still stops the rest. */
export interface ReleaseMeshParts {
    mesh?: Mesh;
    prometheus?: LocalPrometheus;
    stack?: E2EStack;
    client?: MeshClient;
    reportDir?: string;
}

/**
 * Starts the mesh of `namespace`, Prometheus and the stack `stackName` (on the backend `env` names, else the run's
 * file:// one; `config` adds to or overrides its config), then `rps` requests per second from the client; resolves
 * once requests are routed.
 */
export async function startReleaseMesh(
    parts: ReleaseMeshParts,
    o: {
        namespace: string;
        label: string;
        stackName: string;
        rps: number;
        env?: Record<string, string>;
        config?: Record<string, string>;
    },
): Promise<Required<ReleaseMeshParts>> {
    const mesh = (parts.mesh = Mesh.start({
        namespace: o.namespace,
        app: "shop",
        servicePort: 80,
        containerPort: 8080,
        label: o.label,
    }));
    const prometheus = (parts.prometheus = new LocalPrometheus());
    const url = await prometheus.start(await mesh.startMetricsExporter());
    const reportDir = (parts.reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-reports-")));
    const stack = (parts.stack = await E2EStack.create(
        o.stackName,
        baseConfig(o.namespace, {
            protocol: "grpc",
            prometheusUrl: url,
            releaseSteps: "25,50,100",
            releaseInterval: "10s",
            releaseMetricWindow: "5s",
            prometheusScrapeInterval: "1s",
            releaseFailureThreshold: "2",
            releaseMinSuccessRate: "99",
            releaseMaxLatencyMs: "500",
            releaseNoData: "hold",
            releaseHoldLimit: "5",
            ...o.config,
        }),
        undefined,
        o.env,
    ));
    await stack.up();
    await mesh.waitForBackends(
        (l) => l.filter((b) => b.track === "stable").length === 2 && l.some((b) => b.track === "canary"),
        "2 stable and 1 canary backend",
    );
    const client = (parts.client = await mesh.startClient());
    await client.waitRouted();
    await client.startLoad(o.rps);
    return { mesh, prometheus, stack, client, reportDir };
}

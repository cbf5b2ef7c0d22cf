/**
 * `npm run demo`: the dev stack on the local cluster, from install to a completed release by hand, then two
 * releases by the release bot, on a throwaway backend. Prints each step's time, what changed, the live
 * VirtualService routes and the measured split: 1000 real requests from a proxyless gRPC client routed by istiod
 * over xDS to one backend process per pod (scripts/mesh; the app speaks gRPC here, `protocol: grpc`), counted per
 * track. The bot judges the canary on a real Prometheus scraping those backends: a healthy version completes
 * through its analyses, a faulty one (its backends answer errors) is rolled back by itself; their reports
 * (Markdown, JSON, SVG) stay. Then destroys everything (when scripts/with-cluster.sh started the cluster,
 * stopping it does). Run through scripts/with-cluster.sh (it provides the toolchain, the cluster and istiod).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appNamespace, deploymentName, TRACKS } from "../../components/names";
import { selfSignedCertificate } from "../automation/dev-tls";
import { describeLiveRoutes, kubectl } from "../automation/kube";
import { ScratchStack, stackFileConfig } from "../automation/scratch";
import { ReleaseResult } from "../release/result";
import { Mesh, MeshClient } from "../../scripts/mesh/mesh";
import { LocalPrometheus } from "../../scripts/mesh/prometheus";
import { main as release } from "./release";

/** Requests per step for the measured split. */
const REQUESTS = 1000;
/** Requests per second while the bot judges a canary (what Prometheus sees). */
const LOAD_RPS = 60;

interface Step {
    title: string;
    config: Record<string, string | undefined>;
}

const IMAGE = "ghcr.io/stefanprodan/podinfo";
const CANARY_VERSION = "6.8.0";

const STEPS: Step[] = [
    { title: "install Istio and podinfo 6.7.0 (all traffic on stable)", config: {} },
    {
        title: `deploy canary ${CANARY_VERSION} at weight 0`,
        config: { canaryImage: `${IMAGE}:${CANARY_VERSION}`, canaryVersion: CANARY_VERSION },
    },
    { title: "shift 10% to the canary", config: { canaryWeight: "10" } },
    { title: "shift 50% to the canary", config: { canaryWeight: "50" } },
    { title: "shift 100% to the canary", config: { canaryWeight: "100" } },
    {
        title: `complete: stable runs ${CANARY_VERSION}, weight back to 0`,
        config: {
            stableImage: `${IMAGE}:${CANARY_VERSION}`,
            stableVersion: CANARY_VERSION,
            canaryWeight: "0",
            canaryImage: undefined,
            canaryVersion: undefined,
        },
    },
];

/** The bot's releases: a healthy version, then a faulty one whose backends answer half of their calls with errors. */
const RELEASES = [
    { version: "6.9.0", errorRate: 0 },
    { version: "6.10.0", errorRate: 0.5 },
];

/**
 * The release policy of the demo's bot: two steps, each judged on a 5 s window 10 s after the shift (the shortest
 * interval the bot takes), on Prometheus scraping every second; one failed analysis rolls back.
 */
const DEMO_POLICY = {
    releaseSteps: "50,100",
    releaseInterval: "10s",
    releaseMetricWindow: "5s",
    prometheusScrapeInterval: "1s",
    releaseFailureThreshold: "1",
    releaseNoData: "hold",
    releaseHoldLimit: "3",
};

function changes(c: Record<string, number> | undefined): string {
    return Object.entries(c ?? {})
        .filter(([op]) => op !== "same")
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
}

/** The bot's verdicts in a report: "50 pass (success-rate 100%), 100 pass (...)". */
function verdicts(r: ReleaseResult): string {
    return r.events
        .filter((e) => e.kind === "analysis" && e.verdict !== undefined)
        .map((e) => {
            const sr = e.checks?.find((c) => c.name === "success-rate");
            return `${e.weight}: ${e.verdict}${sr?.value !== undefined ? ` (success ${Math.round(sr.value * 10) / 10}%)` : ""}`;
        })
        .join(", ");
}

async function main(): Promise<void> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-demo-"));
    const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-demo-reports-"));
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE ??= "demo-only-passphrase";
    // The mesh's backends answer gRPC, so the Service port is named grpc (Istio's protocol selection).
    const config: Record<string, string> = { ...stackFileConfig("dev"), protocol: "grpc" };
    if (process.env.ISTIO_CHARTS_DIR) {
        config.istioChartDir = process.env.ISTIO_CHARTS_DIR;
    }
    const ns = appNamespace(config.app, config.namespace);
    const stack = await ScratchStack.create("dev", config, selfSignedCertificate(config.hosts.split(",")));
    const rows: string[] = [];
    const t0 = Date.now();
    const mesh = Mesh.start({
        namespace: ns,
        app: config.app,
        servicePort: Number(config.servicePort ?? 80),
        containerPort: Number(config.containerPort ?? 8080),
        label: "demo",
    });
    const prometheus = new LocalPrometheus();
    let client: MeshClient | undefined;

    /** Waits for one backend per pod, on the version its Deployment runs; then counts real requests per track. */
    const measure = async (): Promise<{ weighted: string; measured: string }> => {
        const want = TRACKS.map((t) => {
            const d = JSON.parse(
                kubectl(["get", "deployment", "-n", ns, deploymentName(config.app, t), "-o", "json"]),
            ) as { spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } } };
            return { t, n: d.spec.replicas, v: d.spec.template.metadata.labels.version };
        });
        console.log(`      deployments: ${want.map((w) => `${w.t} ${w.v} x${w.n}`).join(", ")}`);
        const routes = describeLiveRoutes(ns, config.app);
        for (const route of routes) {
            console.log(`      live route ${route}`);
        }
        await mesh.waitForBackends(
            (l) =>
                want.every(
                    (w) =>
                        l.filter((b) => b.track === w.t).length === w.n &&
                        l.every((b) => b.track !== w.t || b.version === w.v),
                ),
            want.map((w) => `${w.n} ${w.t} ${w.v}`).join(", "),
        );
        if (!client) {
            client = await mesh.startClient("demo-client");
            await client.waitRouted();
        }
        await new Promise((r) => setTimeout(r, 1000)); // istiod pushes the new routes within about a second
        const r = await client.batch(REQUESTS, { concurrency: 16 });
        const failed = r.n - r.ok;
        const measured =
            `stable ${r.byTrack.stable ?? 0} / canary ${r.byTrack.canary ?? 0}` +
            ` (${Object.entries(r.byVersion)
                .map(([v, n]) => `${v}: ${n}`)
                .join(", ")})${failed ? `, ${failed} failed` : ""}`;
        console.log(`      measured: ${REQUESTS} requests -> ${measured}`);
        const weighted = routes.find((x) => x.startsWith("weighted"))?.replace("weighted: ", "") ?? "";
        return { weighted, measured };
    };

    try {
        for (const [i, step] of STEPS.entries()) {
            await stack.set(step.config);
            const up = await stack.up();
            const seconds = (up.ms / 1000).toFixed(1);
            console.log(
                `\n[${i + 1}/${STEPS.length + RELEASES.length}] ${step.title}: pulumi up ${seconds}s (${changes(up.changes)})`,
            );
            const { weighted, measured } = await measure();
            rows.push(`| ${i + 1} | ${step.title} | pulumi up ${seconds} s | ${weighted} | ${measured} |`);
        }

        // The release bot, on the same stack and the same real traffic, judged by a real Prometheus.
        const url = await prometheus.start(await mesh.startMetricsExporter());
        await stack.set({ ...DEMO_POLICY, prometheusUrl: url });
        await client!.startLoad(LOAD_RPS);
        for (const [j, r] of RELEASES.entries()) {
            const n = STEPS.length + j + 1;
            const image = `${IMAGE}:${r.version}`;
            const faulty = r.errorRate > 0;
            await mesh.setBehaviour(r.version, { errorRate: r.errorRate, latencyMs: 0 });
            const what = `release bot: ${r.version}${faulty ? ` (its pods answer ${r.errorRate * 100}% errors)` : ""}`;
            console.log(`\n[${n}/${STEPS.length + RELEASES.length}] ${what}: npm run release -- --image ${image}`);
            const before = new Set(fs.readdirSync(reportDir));
            const started = Date.now();
            const code = await release([
                ...["--stack", stack.name, "--work-dir", stack.workDir, "--image", image],
                ...["--report-dir", reportDir, "--quiet"],
            ]);
            const seconds = ((Date.now() - started) / 1000).toFixed(1);
            const json = fs.readdirSync(reportDir).find((f) => f.endsWith(".json") && !before.has(f));
            const report = json
                ? (JSON.parse(fs.readFileSync(path.join(reportDir, json), "utf8")) as ReleaseResult)
                : undefined;
            const outcome = report ? `${report.outcome} (exit ${code})` : `no report (exit ${code})`;
            const { weighted, measured } = await measure();
            rows.push(
                `| ${n} | ${what}; analyses ${report ? verdicts(report) : "-"} -> ${outcome} | bot ${seconds} s | ${weighted} | ${measured} |`,
            );
        }
        await client!.stopLoad();

        console.log(`\nSummary (${((Date.now() - t0) / 1000).toFixed(0)} s in all):\n`);
        console.log(
            `| step | what | time | live weighted route | measured: ${REQUESTS} requests via istiod's xDS |\n| ---: | --- | ---: | --- | --- |`,
        );
        rows.forEach((r) => console.log(r));
        console.log(`\nThe bot's reports (Markdown, JSON, SVG chart of weight and analyses over time), kept:`);
        for (const f of fs.readdirSync(reportDir).sort()) {
            console.log(`  ${path.join(reportDir, f)}`);
        }
    } finally {
        await mesh.stop();
        await prometheus.stop();
        if (process.env.WITH_CLUSTER_STOPS_CLUSTER === "1") {
            // scripts/with-cluster.sh started the cluster and stops it now, with everything on it: no destroy needed.
            console.log("\ntearing down: mesh processes, Prometheus, the throwaway backend (the cluster goes next)");
        } else {
            console.log("\ntearing down: mesh processes, Prometheus, pulumi destroy, stack removal");
            await stack.destroyAndRemove();
        }
        fs.rmSync(backend, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

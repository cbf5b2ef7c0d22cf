/**
 * Benchmark: what a traffic shift costs on the local cluster.
 *   - a weight-shift `pulumi up` (only the VirtualService changes), and the same without type-checking the
 *     program (PULUMI_NODEJS_TRANSPILE_ONLY=true, as the release bot runs it),
 *   - a no-change `pulumi up` (the floor: engine, program and provider start-up),
 *   - a targeted `pulumi up --target <VirtualService>` (the release bot's fast rollback path),
 *   - a direct API patch of the same VirtualService with kubectl (what a controller or a person does by hand),
 *   - xDS propagation: from the end of a shifting `up` (and from the API server's write of the VirtualService) to
 *     the first real request that istiod's new routes sent to the other track (scripts/mesh/propagation.ts: a
 *     proxyless gRPC client under continuous load, shifts 0 <-> 100).
 * Medians of RUNS runs (default 5), and ratios to the direct patch.
 *
 *   npm run bench:shift        (starts the local cluster if needed)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "../stacks/automation/dev-tls";
import { kubectl } from "../stacks/automation/kube";
import { ScratchStack, stackFileConfig } from "../stacks/automation/scratch";
import { Mesh } from "../scripts/mesh/mesh";
import { measureShift, Propagation } from "../scripts/mesh/propagation";

const RUNS = Number(process.env.RUNS ?? 5);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-"));
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE ??= "bench-only-passphrase";
    const { canaryHeader: _h, canaryCookie: _c, ...dev } = stackFileConfig("dev");
    // No header or cookie routes: the weighted route is the VirtualService's first, the one the patch edits.
    const config: Record<string, string> = {
        ...dev,
        namespace: "bench-shift",
        canaryImage: "ghcr.io/stefanprodan/podinfo:6.8.0",
        canaryVersion: "6.8.0",
        canaryWeight: "10",
        // The mesh's backends and client speak gRPC (the propagation rows).
        protocol: "grpc",
    };
    if (process.env.ISTIO_CHARTS_DIR) {
        config.istioChartDir = process.env.ISTIO_CHARTS_DIR;
    }
    const stack = await ScratchStack.create("bench", config, selfSignedCertificate(config.hosts.split(",")));
    const times: Record<string, number[]> = {
        shift: [],
        shiftTranspileOnly: [],
        noChange: [],
        targeted: [],
        patch: [],
    };
    const propagation: Propagation[] = [];
    const mesh = Mesh.start({
        namespace: config.namespace,
        app: config.app,
        servicePort: Number(config.servicePort ?? 80),
        containerPort: Number(config.containerPort ?? 8080),
        label: "bench",
    });
    try {
        await stack.up();
        const urn = (await stack.stack.outputs()).routingUrn.value as string;
        let weight = 10;
        // Every change moves to a weight the stack does not hold yet.
        const flip = () => (weight = weight >= 90 ? 10 : weight + 10);
        for (let i = 0; i < RUNS; i++) {
            await stack.set({ canaryWeight: String(flip()) });
            const shift = await stack.up();
            if (shift.result.summary.resourceChanges?.update !== 1) {
                throw new Error(`a shift updated ${JSON.stringify(shift.result.summary.resourceChanges)}`);
            }
            times.shift.push(shift.ms);
            // The release bot runs the program without type-checking it again (CI type-checks it).
            stack.stack.workspace.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
            await stack.set({ canaryWeight: String(flip()) });
            times.shiftTranspileOnly.push((await stack.up()).ms);
            delete stack.stack.workspace.envVars.PULUMI_NODEJS_TRANSPILE_ONLY;
            times.noChange.push((await stack.up()).ms);
            await stack.set({ canaryWeight: String(flip()) });
            times.targeted.push((await stack.up({ target: [urn] })).ms);
            const w = flip();
            const patch = JSON.stringify([
                { op: "replace", path: "/spec/http/0/route/0/weight", value: 100 - w },
                { op: "replace", path: "/spec/http/0/route/1/weight", value: w },
            ]);
            const t0 = process.hrtime.bigint();
            kubectl([
                "patch",
                "virtualservices.networking.istio.io",
                "-n",
                config.namespace,
                config.app,
                "--type=json",
                `-p=${patch}`,
            ]);
            times.patch.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        // xDS propagation, with real requests: shifts 0 <-> 100 under continuous load.
        await stack.set({ canaryWeight: "0" });
        await stack.up();
        await mesh.waitForBackends(
            (l) => l.filter((b) => b.track === "stable").length >= 1 && l.some((b) => b.track === "canary"),
            "stable and canary backends",
        );
        const client = await mesh.startClient("bench-client");
        await client.waitRouted();
        for (let i = 0; i < RUNS; i++) {
            const w = i % 2 === 0 ? 100 : 0;
            propagation.push(
                await measureShift({
                    client,
                    up: () => stack.set({ canaryWeight: String(w) }).then(() => stack.up()),
                    toTrack: w === 100 ? "canary" : "stable",
                    namespace: config.namespace,
                    virtualService: config.app,
                }),
            );
        }
    } finally {
        await mesh.stop();
        await stack.destroyAndRemove();
        fs.rmSync(backend, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const row = (name: string, key: string) =>
        `| ${name} | ${(m[key] / 1000).toFixed(2)} s | x${(m[key] / m.patch).toFixed(1)} |`;
    console.log(`Traffic shift on the local cluster, median of ${RUNS} runs each\n`);
    console.log("| operation | median wall time | vs direct API patch |\n| --- | ---: | ---: |");
    console.log(row("`pulumi up` shifting the weight (1 resource updated)", "shift"));
    console.log(
        row(
            "the same, program not type-checked (PULUMI_NODEJS_TRANSPILE_ONLY, as the bot runs it)",
            "shiftTranspileOnly",
        ),
    );
    console.log(row("`pulumi up` with no change", "noChange"));
    console.log(row("`pulumi up --target` the VirtualService (bot rollback)", "targeted"));
    console.log(row("`kubectl patch` of the VirtualService (direct API)", "patch"));
    console.log(
        `\nshift / no-change: x${(m.shift / m.noChange).toFixed(2)}; targeted / full shift: x${(m.targeted / m.shift).toFixed(2)}`,
    );
    const p = (key: keyof Propagation) => median(propagation.map((x) => x[key]));
    console.log(
        `\nxDS propagation with real requests (proxyless gRPC client, ~5 ms resolution), median of ${RUNS} shifts\n`,
    );
    console.log("| from | to the first request routed by the new weights |\n| --- | ---: |");
    console.log(`| end of the shifting \`pulumi up\` | ${p("upEndToRoutedMs")} ms |`);
    console.log(`| API server's write of the VirtualService | ${p("writeToRoutedMs")} ms |`);
    console.log(
        `\n(runs, write -> routed: ${propagation.map((x) => x.writeToRoutedMs).join(", ")} ms; failed requests: ${propagation.map((x) => x.errors).join(", ")})`,
    );
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

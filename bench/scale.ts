/**
 * The N table of `npm run bench:shift`: one stack holding N CanaryRelease instances (an inline Automation API
 * program in this process), grown 1 -> 10 -> 50. At each N: a one-release shift (config write + up) and the
 * bot's fast rollback of that release (direct routing patch: time to stable; then the update recording it).
 * Runs beside the main bench stack, which installed Istio's CRDs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { CanaryRelease } from "../components";
import { KubeRouting } from "../stacks/automation/routing-patch";
import { median, RUNS, timed } from "./lib";

const NAMESPACE = "bench-scale";

/** N releases; release r0's weight comes from config `weight`, the others stay at 0. */
function releases(n: number, gatewayNamespace: string) {
    return () => {
        const weight = new pulumi.Config().requireNumber("weight");
        const ns = new k8s.core.v1.Namespace("ns", { metadata: { name: NAMESPACE } });
        for (let i = 0; i < n; i++) {
            new CanaryRelease(
                `r${i}`,
                {
                    app: `r${i}`,
                    namespace: NAMESPACE,
                    createNamespace: false,
                    stable: { image: "ghcr.io/stefanprodan/podinfo:6.7.0", version: "6.7.0" },
                    canary: { image: "ghcr.io/stefanprodan/podinfo:6.8.0", version: "6.8.0" },
                    canaryWeight: i === 0 ? weight : 0,
                    hosts: [`r${i}.bench.example.test`],
                    tls: { secretName: "bench-scale-tls" },
                    gateway: { namespace: gatewayNamespace, selector: { istio: "ingressgateway" } },
                },
                { dependsOn: ns },
            );
        }
        return Promise.resolve({});
    };
}

export interface ScaleRow {
    n: number;
    resources: number;
    shiftMs: number;
    toStableMs: number;
    recordMs: number;
}

async function stackFor(n: number, dir: string, gatewayNamespace: string): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack(
        { stackName: "bench-scale", projectName: "istio-canary-bench-scale", program: releases(n, gatewayNamespace) },
        { workDir: dir },
    );
}

/** Measures every N in `sizes` (increasing) on one stack; destroys it at the end. */
export async function measureScale(sizes: number[], dir: string, gatewayNamespace: string): Promise<ScaleRow[]> {
    const routing = KubeRouting.fromKubeconfig();
    const rows: ScaleRow[] = [];
    let stack = await stackFor(sizes[0], dir, gatewayNamespace);
    try {
        for (const n of sizes) {
            stack = await stackFor(n, dir, gatewayNamespace);
            await stack.setConfig("weight", { value: "0" });
            const grown = await stack.up();
            const resources = Object.values(grown.summary.resourceChanges ?? {}).reduce((a, b) => a + b, 0);
            const shift: number[] = [];
            const toStable: number[] = [];
            const record: number[] = [];
            for (let i = 0; i < RUNS; i++) {
                shift.push(
                    await timed(async () => {
                        await stack.setConfig("weight", { value: String(10 + i) });
                        await stack.up();
                    }),
                );
                const target = { kind: "VirtualService" as const, namespace: NAMESPACE, name: "r0" };
                toStable.push(await timed(() => routing.routeToStable(target, 0)));
                record.push(
                    await timed(async () => {
                        await stack.setConfig("weight", { value: "0" });
                        await stack.up();
                        await routing.handBack(target);
                    }),
                );
            }
            rows.push({ n, resources, shiftMs: median(shift), toStableMs: median(toStable), recordMs: median(record) });
            console.log(
                `measured: N=${n} (${resources} resources): shifts ${shift.map((x) => x.toFixed(0)).join(", ")} ms`,
            );
        }
    } finally {
        routing.close();
        await stack.destroy();
        await stack.workspace.removeStack(stack.name, { force: true });
    }
    return rows;
}

/** Prints the N table; returns the goals missed (shift at most linear in N, time to stable within 0.2 s at every N). */
export function printScale(rows: ScaleRow[]): string[] {
    console.log(`\nOne stack holding N CanaryRelease instances, median of ${RUNS} runs at each N\n`);
    console.log(
        "| N | resources | one-release shift (config write + up) | rollback: time to stable (direct patch) | rollback recorded (update) |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: |");
    for (const r of rows) {
        const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
        console.log(`| ${r.n} | ${r.resources} | ${s(r.shiftMs)} | ${s(r.toStableMs)} | ${s(r.recordMs)} |`);
    }
    const missed: string[] = [];
    const first = rows[0];
    const last = rows.at(-1)!;
    const growth = last.shiftMs / first.shiftMs;
    console.log(
        `\nshift at N=${last.n} / N=${first.n}: x${growth.toFixed(2)} (linear would be x${last.n / first.n}); ` +
            `time to stable: x${(last.toStableMs / first.toStableMs).toFixed(2)}`,
    );
    for (let i = 1; i < rows.length; i++) {
        const [a, b] = [rows[i - 1], rows[i]];
        if (b.shiftMs / a.shiftMs > b.n / a.n) {
            missed.push(`shift grows faster than linearly from N=${a.n} to N=${b.n}`);
        }
    }
    for (const r of rows.filter((x) => x.toStableMs > 200)) {
        missed.push(`time to stable at N=${r.n}: ${r.toStableMs.toFixed(0)} ms, goal 200 ms`);
    }
    return missed;
}

/**
 * Benchmark: what the shared S3 backend adds to a traffic shift. One stack on a file:// backend and the same stack
 * on the run's S3 backend (SeaweedFS on 127.0.0.1, scripts/backend/with-s3.sh), on the local cluster and the shared
 * Istio of the end-to-end tests; each run is a user's shift, `pulumi config set canaryWeight N && pulumi up` with
 * the Pulumi CLI as the project runs it, alternating file, S3, file, S3, ... (so load on the machine hits both
 * alike); and `pulumi stack output`, the cost of opening the stack in one CLI process (the bot runs several per
 * step). RUNS runs each (default 5): median, fastest, slowest, and the S3 backend's difference.
 *
 *   npm run bench:backend      (starts the local cluster and SeaweedFS if needed)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "../stacks/automation/dev-tls";
import { ScratchStack } from "../stacks/automation/scratch";
import { s3BackendEnv } from "../scripts/backend/s3";
import { meshValues, sharedMeshUp } from "../tests/e2e/shared-mesh";
import { median, pulumiCli, RUNS, timed } from "./lib";

function config(namespace: string): Record<string, string> {
    return {
        app: "shop",
        namespace,
        stableImage: "registry.example.test/shop:1.0.0",
        stableVersion: "v1",
        canaryImage: "registry.example.test/shop:2.0.0",
        canaryVersion: "v2",
        canaryWeight: "0",
        hosts: `shop.${namespace}.bench.example.test`,
        replicas: "2",
        istioInstall: "false",
        ...meshValues(),
    };
}

interface Sample {
    shift: number[];
    open: number[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

async function main(): Promise<void> {
    process.env.PULUMI_CONFIG_PASSPHRASE ??= "bench-only-passphrase";
    const fileBackend = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-backend-"));
    const backends = [
        { name: "file://", env: { PULUMI_BACKEND_URL: `file://${fileBackend}` }, namespace: "bench-file" },
        { name: "S3 (SeaweedFS)", env: s3BackendEnv(), namespace: "bench-s3" },
    ];
    console.error(await sharedMeshUp());
    const stacks: ScratchStack[] = [];
    const samples: Sample[] = backends.map(() => ({ shift: [], open: [] }));
    try {
        for (const b of backends) {
            const c = config(b.namespace);
            const stack = await ScratchStack.create(
                "bench-backend",
                c,
                selfSignedCertificate(c.hosts.split(",")),
                undefined,
                b.env,
            );
            stacks.push(stack);
            console.log(`setting up: the stack on ${b.name} ...`);
            await stack.up();
        }
        for (let i = 0; i < RUNS; i++) {
            const weight = String(10 * (1 + (i % 9)));
            for (const [j, stack] of stacks.entries()) {
                const cli = (args: string[]) => pulumiCli(stack.workDir, [...args, "--stack", stack.name], stack.env);
                samples[j].shift.push(
                    await timed(() => {
                        cli(["config", "set", "canaryWeight", weight]);
                        cli(["up", "--yes", "--skip-preview"]);
                    }),
                );
                samples[j].open.push(await timed(() => cli(["stack", "output", "--json"])));
                console.log(
                    `measured: ${backends[j].name}: shift ${samples[j].shift.at(-1)!.toFixed(0)} ms, open ${samples[j].open.at(-1)!.toFixed(0)} ms`,
                );
            }
        }
    } finally {
        for (const s of stacks) {
            await s.destroyAndRemove();
        }
        fs.rmSync(fileBackend, { recursive: true, force: true });
    }
    const rows = (what: keyof Sample, label: string) =>
        backends.map((b, j) => {
            const xs = samples[j][what];
            // Runs alternate, so run i on S3 and run i on file:// saw about the same load: their difference.
            const paired = median(xs.map((x, i) => x - samples[0][what][i]));
            const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${seconds(ms)}`;
            const diff = j === 0 ? " | " : `${signed(median(xs) - median(samples[0][what]))} | ${signed(paired)}`;
            return `| ${label} | ${b.name} | ${seconds(median(xs))} | ${seconds(Math.min(...xs))} | ${seconds(Math.max(...xs))} | ${diff} |`;
        });
    console.log(`\nThe state backend's share of a shift, ${RUNS} runs each (alternating)\n`);
    console.log(
        "| operation | backend | median | fastest | slowest | S3 - file: of the medians | S3 - file: median of run pairs |",
    );
    console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    console.log(
        [
            ...rows("shift", "a user's shift (`pulumi config set canaryWeight` + `pulumi up`)"),
            ...rows("open", "`pulumi stack output` (one CLI process opening the stack)"),
        ].join("\n"),
    );
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

/**
 * Benchmark: what moving traffic costs on the local cluster, every way this project does it, side by side in one
 * run as ratios to one `kubectl patch` of the VirtualService's weights:
 *   - a user's shift, `pulumi config set canaryWeight N && pulumi up` with the Pulumi CLI, as the project runs it
 *     (main.js: index.ts through sucrase) and the ways it could: type-checked by ts-node (the default of a
 *     TypeScript project), ts-node transpile-only, compiled to JavaScript by tsc;
 *   - the bot's shift: config write + `up` of the program inline in this process (stacks/automation/inline-stack.ts);
 *   - `up` of an empty inline program (the engine's own floor here);
 *   - the bot's rollback, through the bot: decision -> traffic on stable, fast (direct routing patch) and by update,
 *     and decision -> rollback recorded in the stack;
 * then the N = 1/10/50 table (bench/scale.ts). Medians of RUNS runs (default 5). Exits 1 when a goal is missed.
 *
 *   npm run bench:shift        (starts the local cluster if needed)
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { selfSignedCertificate } from "../stacks/automation/dev-tls";
import { InlineStack } from "../stacks/automation/inline-stack";
import { kubectl } from "../stacks/automation/kube";
import { Mesh } from "../scripts/mesh/mesh";
import { measureShift, Propagation } from "../scripts/mesh/propagation";
import { KubeRouting } from "../stacks/automation/routing-patch";
import { PROJECT_DIR, ScratchStack, stackFileConfig } from "../stacks/automation/scratch";
import { median, printTable, pulumiCli, Row, RUNS, timed } from "./lib";
import { botRollback } from "./rollback";
import { measureScale, printScale } from "./scale";

const SIZES = (process.env.SIZES ?? "1,10,50").split(",").map(Number);
const PATCH = "`kubectl patch` of the weights";
const TYPE_CHECKED = "a user's shift, type-checked (ts-node, `typescript: true`)";

/** The ways `pulumi up` could run the program: Pulumi.yaml's main and runtime options, and environment. */
function userVariants(committed: Record<string, unknown>) {
    const ts = (options: object) => ({
        ...committed,
        main: path.join(PROJECT_DIR, "index.ts"),
        runtime: { name: "nodejs", options },
    });
    const compiled = path.join(PROJECT_DIR, "bin", "bench-program");
    return [
        {
            name: TYPE_CHECKED,
            project: ts({ typescript: true, tsconfig: path.join(PROJECT_DIR, "tsconfig.json") }),
            env: {},
        },
        {
            name: "the same, transpile-only (`PULUMI_NODEJS_TRANSPILE_ONLY=true`)",
            project: ts({ typescript: true, tsconfig: path.join(PROJECT_DIR, "tsconfig.json") }),
            env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
        },
        {
            name: "the same, compiled to JavaScript by tsc (`typescript: false`; needs a build first)",
            project: {
                ...committed,
                main: path.join(compiled, "index.js"),
                runtime: { name: "nodejs", options: { typescript: false } },
            },
            env: {},
            build: () =>
                execFileSync(
                    "npx",
                    [
                        "tsc",
                        "-p",
                        "tsconfig.json",
                        "--outDir",
                        compiled,
                        "--sourceMap",
                        "false",
                        "--declaration",
                        "false",
                    ],
                    {
                        cwd: PROJECT_DIR,
                        stdio: "inherit",
                    },
                ),
        },
        {
            name: "the same as the project runs it, after a change to every file (main.js, its transpile cache empty)",
            project: committed,
            env: () => ({ ISTIO_CANARY_TS_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-ts-")) }),
        },
        {
            name: "**a user's shift as the project runs it** (main.js: index.ts through sucrase, transpile cached; `typescript: false`)",
            project: committed,
            env: {},
            goal: { maxRatio: 0.5, of: TYPE_CHECKED },
            goalText: "<= 0.5x the type-checked shift",
        },
    ];
}

async function main(): Promise<void> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-"));
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE ??= "bench-only-passphrase";
    const { canaryHeader: _h, canaryCookie: _c, ...dev } = stackFileConfig("dev");
    // No header or cookie routes: the weighted route is the VirtualService's first, the one `kubectl patch` edits.
    const config: Record<string, string> = {
        ...dev,
        namespace: "bench-shift",
        canaryImage: "ghcr.io/stefanprodan/podinfo:6.8.0",
        canaryVersion: "6.8.0",
        canaryWeight: "10",
        // The mesh's backends and client speak gRPC (the propagation rows); the AuthorizationPolicy lists the client.
        protocol: "grpc",
        allowedPrincipals: "cluster.local/ns/bench-shift/sa/bench-client",
        ...(process.env.ISTIO_CHARTS_DIR ? { istioChartDir: process.env.ISTIO_CHARTS_DIR } : {}),
    };
    const stack = await ScratchStack.create("bench", config, selfSignedCertificate(config.hosts.split(",")));
    const projectFile = path.join(stack.workDir, "Pulumi.yaml");
    const committed = yaml.load(fs.readFileSync(projectFile, "utf8")) as Record<string, unknown>;
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-empty-"));
    const scale = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-scale-"));
    const routing = KubeRouting.fromKubeconfig();
    // Each row is printed as soon as it is measured, so a run that fails later still shows what it measured.
    const rows: Row[] = [];
    const record = (...added: Row[]) => {
        added.forEach((r) => console.log(`measured: ${r.name}: ${r.samples.map((x) => x.toFixed(0)).join(", ")} ms`));
        rows.push(...added);
    };
    let weight = 10;
    // Every shift moves to a weight the stack does not hold yet.
    const next = () => String((weight = weight >= 90 ? 10 : weight + 10));
    let missed: string[] = [];
    let floor: Stack | undefined;
    const mesh = Mesh.start({
        namespace: config.namespace,
        app: config.app,
        servicePort: Number(config.servicePort ?? 80),
        containerPort: Number(config.containerPort ?? 8080),
        label: "bench",
    });
    try {
        console.log("setting up: Istio and the release on the local cluster ...");
        await stack.up();

        const patch: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            const w = Number(next());
            const ops = JSON.stringify([
                { op: "replace", path: "/spec/http/0/route/0/weight", value: 100 - w },
                { op: "replace", path: "/spec/http/0/route/1/weight", value: w },
            ]);
            const args = ["patch", "virtualservices.networking.istio.io", "-n", config.namespace, config.app];
            patch.push(await timed(() => kubectl([...args, "--type=json", `-p=${ops}`])));
        }
        record({ name: PATCH, samples: patch });
        await stack.up(); // back to what the stack says (the patches above were drift)

        for (const v of userVariants(committed)) {
            v.build?.();
            fs.writeFileSync(projectFile, yaml.dump(v.project));
            const samples: number[] = [];
            for (let i = 0; i < RUNS; i++) {
                const env = typeof v.env === "function" ? v.env() : v.env;
                const cli = (args: string[]) => pulumiCli(stack.workDir, [...args, "--stack", stack.name], env);
                samples.push(
                    await timed(() => {
                        cli(["config", "set", "canaryWeight", next()]);
                        cli(["up", "--yes", "--skip-preview"]);
                    }),
                );
            }
            record({ name: v.name, samples, goal: v.goal, goalText: v.goalText });
        }
        fs.writeFileSync(projectFile, yaml.dump(committed));

        const bot = await InlineStack.open(stack.name, stack.workDir);
        const shifts: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            shifts.push(
                await timed(async () => {
                    await bot.setConfig({ canaryWeight: next() });
                    await bot.up();
                }),
            );
        }
        record({
            name: "**the bot's shift**: program inline in its process (config write + up)",
            samples: shifts,
            goal: { maxMs: 1600 },
        });

        const engine = await LocalWorkspace.createOrSelectStack(
            { stackName: "bench-empty", projectName: "istio-canary-bench-empty", program: () => Promise.resolve({}) },
            { workDir: empty },
        );
        floor = engine;
        await engine.up();
        const floorMs: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            floorMs.push(await timed(() => engine.up()));
        }
        record({ name: "`up` of an empty inline program (the engine's floor here)", samples: floorMs });

        const fast = [];
        const update = [];
        for (let i = 0; i < RUNS; i++) {
            fast.push(await botRollback(bot, "fast", 2 * i, routing));
            update.push(await botRollback(bot, "update", 2 * i + 1));
        }
        record(
            {
                name: "**the bot's rollback, fast**: decision -> traffic on stable (direct routing patch)",
                samples: fast.map((r) => r.toStableMs),
                goal: { maxMs: 200 },
            },
            {
                name: "the same, decision -> rollback recorded in the stack (targeted update)",
                samples: fast.map((r) => r.recordedMs),
            },
            {
                name: "the bot's rollback by update (`releaseRollback: update`): decision -> traffic on stable",
                samples: update.map((r) => r.toStableMs),
            },
        );
        const propagation = await xdsPropagation(stack, mesh, config);
        record(
            {
                name: "xDS propagation: the API server's write of the VirtualService -> first request routed by it",
                samples: propagation.map((p) => p.writeToRoutedMs),
            },
            {
                name: "the same, from the end of the shifting `pulumi up` (negative: istiod pushed before `up` returned)",
                samples: propagation.map((p) => p.upEndToRoutedMs),
            },
        );

        missed = printTable(`Moving traffic on the local cluster, median of ${RUNS} runs each`, rows, PATCH);
        missed.push(...printScale(await measureScale(SIZES, scale, "istio-ingress")));
    } finally {
        await mesh.stop();
        routing.close();
        await stack.destroyAndRemove();
        await floor?.workspace.removeStack("bench-empty", { force: true });
        [empty, scale].forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
        fs.rmSync(backend, { recursive: true, force: true });
    }
    if (missed.length > 0) {
        console.error(`\nFAIL: goals missed:\n${missed.map((m) => `  - ${m}`).join("\n")}`);
        process.exit(1);
    }
    console.log("\nOK: every goal met");
}

/** xDS propagation with real requests: RUNS shifts 0 <-> 100 under continuous load from a proxyless gRPC client. */
async function xdsPropagation(stack: ScratchStack, mesh: Mesh, config: Record<string, string>): Promise<Propagation[]> {
    // The rollbacks before this left no canary in config: put the bench's canary back, at 0.
    await stack.set({ canaryImage: config.canaryImage, canaryVersion: config.canaryVersion, canaryWeight: "0" });
    await stack.up();
    await mesh.waitForBackends(
        (l) => l.some((b) => b.track === "stable") && l.some((b) => b.track === "canary"),
        "stable and canary backends",
    );
    const client = await mesh.startClient("bench-client");
    await client.waitRouted();
    const out: Propagation[] = [];
    for (let i = 0; i < RUNS; i++) {
        const w = i % 2 === 0 ? 100 : 0;
        out.push(
            await measureShift({
                client,
                up: () => stack.set({ canaryWeight: String(w) }).then(() => stack.up()),
                toTrack: w === 100 ? "canary" : "stable",
                namespace: config.namespace,
                virtualService: config.app,
            }),
        );
    }
    console.log(
        `xDS propagation runs (write -> routed): ${out.map((p) => p.writeToRoutedMs).join(", ")} ms; median ${median(out.map((p) => p.writeToRoutedMs))} ms`,
    );
    return out;
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});

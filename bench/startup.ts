/**
 * Benchmark: what starting a process of this project costs, with and without stacks/preload.js (the `.ts` loader
 * and @pulumi/pulumi's function-serialization tooling deferred to first use):
 *   - the start of `pulumi up`'s program: @pulumi/pulumi's runtime and the Kubernetes SDK's classes the program
 *     uses, loaded as the language host's `node @pulumi/pulumi/cmd/run` loads them (Pulumi.yaml's `nodeargs`
 *     preloads the file there);
 *   - the release CLI up to its usage text (every module it imports): `ts-node --transpile-only`, as
 *     `npm run release` ran it before, against `node -r ./stacks/preload.js`.
 * Each run is a fresh Node.js process in the repository, which reports its own CPU time (user + system, less
 * sensitive than wall time to a busy machine) and wall time at exit; medians of RUNS runs (default 5), alternating
 * the two ways so that load on the machine hits both alike. The `.ts` cache is warm (one unmeasured run first), as
 * on every update after the first.
 *
 *   npm run bench:startup
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median, RUNS } from "./lib";

const ROOT = path.join(__dirname, "..");

/** Preloaded first in every measured process: prints its CPU and wall milliseconds when it exits. */
const REPORTER = `const t0 = Date.now();
process.on("exit", () => {
    const cpu = process.cpuUsage();
    process.stderr.write("\\nSTARTUP " + JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Date.now() - t0 }) + "\\n");
});`;

/** What a program's process loads before and while it registers its resources (the classes index.ts creates). */
const PROGRAM_LOAD = `require("@pulumi/pulumi/cmd/run/instrumentation");
require("source-map-support/register");
require("@pulumi/pulumi");
require("@pulumi/pulumi/runtime");
const k8s = require("@pulumi/kubernetes");
void [k8s.apps.v1.Deployment, k8s.core.v1.Service, k8s.core.v1.Secret, k8s.core.v1.Namespace,
      k8s.apiextensions.CustomResource, k8s.helm.v3.Release, k8s.policy.v1.PodDisruptionBudget];`;

interface Case {
    name: string;
    args: string[];
}

const CASES: [string, Case, Case][] = [
    [
        "program start (@pulumi/pulumi's runner and the Kubernetes SDK)",
        { name: "node", args: ["-e", PROGRAM_LOAD] },
        { name: "node -r ./stacks/preload.js", args: ["-r", "./stacks/preload.js", "-e", PROGRAM_LOAD] },
    ],
    [
        "release CLI start (`release.ts --help`)",
        {
            name: "ts-node --transpile-only",
            args: ["-r", "ts-node/register/transpile-only", "stacks/cli/release.ts", "--help"],
        },
        { name: "node -r ./stacks/preload.js", args: ["-r", "./stacks/preload.js", "stacks/cli/release.ts", "--help"] },
    ],
];

function measure(reporter: string, c: Case): { cpuMs: number; wallMs: number } {
    const r = spawnSync(process.execPath, ["-r", reporter, ...c.args], { cwd: ROOT, encoding: "utf8" });
    const line = r.stderr.split("\n").find((l) => l.startsWith("STARTUP "));
    if (r.status !== 0 || line === undefined) {
        throw new Error(`${c.name} failed (exit ${r.status}):\n${r.stderr}`);
    }
    return JSON.parse(line.slice("STARTUP ".length)) as { cpuMs: number; wallMs: number };
}
function main(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-bench-startup-"));
    const reporter = path.join(dir, "reporter.js");
    fs.writeFileSync(reporter, REPORTER);
    try {
        console.log("| process | how | CPU s | wall s |\n| --- | --- | ---: | ---: |");
        for (const [what, before, after] of CASES) {
            measure(reporter, after); // warms the .ts cache
            const runs = new Map<Case, { cpuMs: number; wallMs: number }[]>([
                [before, []],
                [after, []],
            ]);
            for (let i = 0; i < RUNS; i++) {
                for (const c of [before, after]) {
                    runs.get(c)!.push(measure(reporter, c));
                }
            }
            for (const c of [before, after]) {
                const xs = runs.get(c)!;
                const cpu = median(xs.map((x) => x.cpuMs)) / 1000;
                const wall = median(xs.map((x) => x.wallMs)) / 1000;
                console.log(`| ${what} | ${c.name} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} |`);
            }
        }
        console.log(`\n(${RUNS} runs each; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();

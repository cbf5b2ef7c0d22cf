/**
 * Benchmark: what the component package costs a program in another language on every preview and update. The
 * Pulumi plugin host (@pulumi/pulumi's run-plugin) registers ts-node with type checking, requires the package
 * and serves its schema, inferred from the TypeScript sources. Each measurement runs in a fresh Node.js process
 * (no tsconfig in its working directory, as a YAML project): CPU time (user + system, less sensitive than wall
 * time to a busy machine) and wall time, medians of RUNS runs.
 *
 *   npm run bench:package            (RUNS=3 by default)
 */
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const RUNS = Number(process.env.RUNS ?? 3);

/** Runs in the child: the host's ts-node registration, then `body`; prints CPU and wall milliseconds. */
const child = (body: string) => `
const t0 = Date.now();
require(${JSON.stringify(require.resolve("ts-node"))}).register({
    typeCheck: true, skipProject: true,
    compilerOptions: { target: "ES2020", module: "commonjs", moduleResolution: "node" },
});
Promise.resolve((() => { ${body} })()).then(() => {
    const cpu = process.cpuUsage();
    console.log(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Date.now() - t0 }));
});`;

const CASES: [string, string][] = [
    [
        "require the package (main: components/package.js, own sources transpile-only)",
        `require(${JSON.stringify(ROOT)});`,
    ],
    [
        "require the components' TypeScript entry through the host's handler (type-checked)",
        `require(${JSON.stringify(path.join(ROOT, "components", "package.ts"))});`,
    ],
    [
        "require the package and infer its schema (what get-schema and every YAML run do)",
        `const m = require(${JSON.stringify(ROOT)});
         const p = require(${JSON.stringify(require.resolve("@pulumi/pulumi/provider/experimental/provider"))});
         return new p.ComponentProvider({ name: "istio-canary", dirname: ${JSON.stringify(ROOT)},
             components: p.getPulumiComponents(m) }).getSchema();`,
    ],
];

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

console.log(`| case | CPU s | wall s |\n| --- | ---: | ---: |`);
for (const [name, body] of CASES) {
    const runs = Array.from({ length: RUNS }, () => {
        const out = execFileSync(process.execPath, ["-e", child(body)], { encoding: "utf8", cwd: os.tmpdir() });
        return JSON.parse(out.trim().split("\n").at(-1)!) as { cpuMs: number; wallMs: number };
    });
    const cpu = median(runs.map((r) => r.cpuMs)) / 1000;
    const wall = median(runs.map((r) => r.wallMs)) / 1000;
    console.log(`| ${name} | ${cpu.toFixed(1)} | ${wall.toFixed(1)} |`);
}
console.log(`\n(${RUNS} runs each; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);

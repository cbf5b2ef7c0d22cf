/**
 * Benchmark: program evaluation time and memory for 1, 10 and 100 CanaryRelease instances under Pulumi mocks.
 * Each measurement runs in a fresh Node.js process; the table shows medians of RUNS runs. Fails (exit 1) when the
 * cost per instance at 100 instances is more than twice that at 10, i.e. when growth is worse than linear.
 *
 *   npm run bench            (RUNS=5 by default)
 */
import { execFileSync } from "child_process";
import * as path from "path";

interface Sample {
    n: number;
    ms: number;
    heapBytes: number;
    resources: number;
}

const RUNS = Number(process.env.RUNS ?? 5);
const SIZES = [1, 10, 100];

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function measure(n: number): Sample {
    const out = execFileSync(
        process.execPath,
        ["--expose-gc", "-r", "ts-node/register/transpile-only", path.join(__dirname, "eval-worker.ts"), String(n)],
        { encoding: "utf8", cwd: path.join(__dirname, "..") },
    );
    return JSON.parse(out.trim().split("\n").at(-1)!) as Sample;
}

const rows = SIZES.map((n) => {
    const samples = Array.from({ length: RUNS }, () => measure(n));
    return {
        n,
        resources: samples[0].resources,
        ms: median(samples.map((s) => s.ms)),
        heapMiB: median(samples.map((s) => s.heapBytes)) / 2 ** 20,
    };
});

console.log(`CanaryRelease evaluation under mocks, median of ${RUNS} fresh processes (node ${process.version})`);
console.log("| instances | resources | time (ms) | ms / instance | heap growth (MiB) | MiB / instance |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
    console.log(
        `| ${r.n} | ${r.resources} | ${r.ms.toFixed(1)} | ${(r.ms / r.n).toFixed(2)} | ${r.heapMiB.toFixed(2)} | ${(r.heapMiB / r.n).toFixed(3)} |`,
    );
}
const per = (n: number) => rows.find((r) => r.n === n)!;
const timeRatio = per(100).ms / 100 / (per(10).ms / 10);
const memRatio = per(100).heapMiB / 100 / (per(10).heapMiB / 10);
console.log(`per-instance cost at 100 vs 10 instances: time x${timeRatio.toFixed(2)}, memory x${memRatio.toFixed(2)}`);
if (timeRatio > 2 || memRatio > 2) {
    console.error("FAIL: cost grows worse than linearly (per-instance cost more than doubled from 10 to 100)");
    process.exit(1);
}
console.log("OK: cost grows no worse than linearly");

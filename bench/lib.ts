/** What the shift benchmarks share: timing, medians, the Pulumi CLI in a workspace, the table and the goals. */
import { execFileSync } from "child_process";

export const RUNS = Number(process.env.RUNS ?? 5);

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds `body` took. */
export async function timed(body: () => unknown): Promise<number> {
    const t0 = process.hrtime.bigint();
    await body();
    return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs the Pulumi CLI as a user would, in `cwd`; returns stdout. */
export function pulumiCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
    return execFileSync("pulumi", args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 64 * 1024 * 1024,
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** One row of the table: what was measured, its samples, and the goal it must meet (if any). */
export interface Row {
    name: string;
    samples: number[];
    /** Goal on the median, in ms; or a ratio to another row's median. */
    goal?: { maxMs: number } | { maxRatio: number; of: string };
    goalText?: string;
}

/** Rows side by side as ratios to `base`, with a goal column; returns the goals missed. */
export function printTable(title: string, rows: Row[], base: string): string[] {
    const med = new Map(rows.map((r) => [r.name, median(r.samples)]));
    const b = med.get(base)!;
    const missed: string[] = [];
    console.log(`\n${title}\n`);
    console.log("| operation | median | vs `kubectl patch` | goal |\n| --- | ---: | ---: | --- |");
    for (const r of rows) {
        const m = med.get(r.name)!;
        let goal = "";
        if (r.goal) {
            const limit = "maxMs" in r.goal ? r.goal.maxMs : r.goal.maxRatio * med.get(r.goal.of)!;
            const ok = m <= limit;
            goal = `${ok ? "met" : "MISSED"}: ${r.goalText ?? `<= ${(limit / 1000).toFixed(2)} s`}`;
            if (!ok) {
                missed.push(
                    `${r.name}: ${(m / 1000).toFixed(3)} s, goal ${r.goalText ?? `${(limit / 1000).toFixed(3)} s`}`,
                );
            }
        }
        console.log(`| ${r.name} | ${(m / 1000).toFixed(3)} s | x${(m / b).toFixed(1)} | ${goal} |`);
    }
    return missed;
}

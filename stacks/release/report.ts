/**
 * The release report: JSON (everything), Markdown (for people and PR comments) and an SVG chart of the canary
 * weight, success rate and p99 latency over time. Deterministic: the same result gives the same files.
 */
import * as fs from "fs";
import * as path from "path";
import { redactDeep } from "../../components/redact";
import { describeCheck } from "./analysis";
import { describeLoad } from "./load";
import { PromotionAudit, ReleaseResult } from "./result";

/** A point of the chart: minutes since start and the three series (undefined where not measured). */
interface Point {
    t: number;
    weight: number;
    successRate?: number;
    latencyMs?: number;
}

function points(r: ReleaseResult): Point[] {
    const t0 = Date.parse(r.startedAt);
    return r.events.map((e) => {
        const check = (name: string) => e.checks?.find((c) => c.name === name)?.value;
        return {
            t: (Date.parse(e.time) - t0) / 60000,
            weight: e.weight,
            successRate: check("success-rate"),
            latencyMs: check("latency-p99"),
        };
    });
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An SVG line chart: weight and success rate on the left axis (0-100), p99 latency on the right axis. */
export function renderChart(r: ReleaseResult): string {
    const W = 720;
    const H = 360;
    const m = { l: 50, r: 60, t: 64, b: 56 };
    const pts = points(r);
    const tMax = Math.max(1, ...pts.map((p) => p.t));
    const latMax = Math.max(1, ...pts.map((p) => (Number.isFinite(p.latencyMs) ? (p.latencyMs ?? 0) : 0))) * 1.1;
    const x = (t: number) => m.l + (t / tMax) * (W - m.l - m.r);
    const yPct = (v: number) => H - m.b - (Math.min(Math.max(v, 0), 100) / 100) * (H - m.t - m.b);
    const yLat = (v: number) => H - m.b - (Math.min(v, latMax) / latMax) * (H - m.t - m.b);
    const fmt = (n: number) => n.toFixed(1);
    // The weight is a step function: it holds until the next shift.
    const weightPath = pts
        .map((p, i) => (i === 0 ? `M${fmt(x(p.t))},${fmt(yPct(p.weight))}` : `H${fmt(x(p.t))}V${fmt(yPct(p.weight))}`))
        .join("");
    const series = (get: (p: Point) => number | undefined, y: (v: number) => number) =>
        pts
            .filter((p) => get(p) !== undefined && Number.isFinite(get(p)))
            .map((p, i) => `${i === 0 ? "M" : "L"}${fmt(x(p.t))},${fmt(y(get(p)!))}`)
            .join("");
    const ticks = [0, 25, 50, 75, 100]
        .map(
            (v) =>
                `<line x1="${m.l}" x2="${W - m.r}" y1="${fmt(yPct(v))}" y2="${fmt(yPct(v))}" stroke="#eee"/>` +
                `<text x="${m.l - 6}" y="${fmt(yPct(v) + 4)}" text-anchor="end">${v}</text>` +
                `<text x="${W - m.r + 6}" y="${fmt(yPct(v) + 4)}">${fmt((latMax * v) / 100)}</text>`,
        )
        .join("");
    const xTicks = [0, 0.25, 0.5, 0.75, 1]
        .map(
            (f) =>
                `<line x1="${fmt(x(f * tMax))}" x2="${fmt(x(f * tMax))}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#999"/>` +
                `<text x="${fmt(x(f * tMax))}" y="${H - m.b + 16}" text-anchor="middle">${fmt(f * tMax)}</text>`,
        )
        .join("");
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
        `<title>${esc(`${r.stack}: release ${r.version} ${r.outcome}`)}</title>`,
        `<rect width="${W}" height="${H}" fill="white"/>`,
        ticks,
        xTicks,
        `<text x="${m.l}" y="18" font-size="13">${esc(`${r.stack}: ${r.version} - ${r.outcome}`)}</text>`,
        `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">minutes since start</text>`,
        `<text x="${m.l - 40}" y="${m.t - 12}">% (weight, success)</text>`,
        `<text x="${W - m.r + 6}" y="${m.t - 12}">p99 ms</text>`,
        `<path d="${weightPath}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
        `<path d="${series((p) => p.successRate, yPct)}" fill="none" stroke="#2ca02c" stroke-width="2"/>`,
        `<path d="${series((p) => p.latencyMs, yLat)}" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>`,
        `<g transform="translate(${m.l + 200},34)">`,
        `<line x1="0" x2="18" y1="0" y2="0" stroke="#1f77b4" stroke-width="2"/><text x="22" y="4">canary weight %</text>`,
        `<line x1="120" x2="138" y1="0" y2="0" stroke="#2ca02c" stroke-width="2"/><text x="142" y="4">success rate %</text>`,
        `<line x1="240" x2="258" y1="0" y2="0" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/><text x="262" y="4">p99 latency (right axis)</text>`,
        `</g>`,
        `</svg>`,
        "",
    ].join("\n");
}

/** The Markdown report. */
/** Text for a Markdown table cell. */
export const mdCell = (text: string) => esc(text).replace(/\|/g, "\\|");

export function renderMarkdown(r: ReleaseResult, chartFile: string): string {
    const cell = mdCell;
    const rows = r.events.map((e) => {
        const detail = e.checks
            ? [...e.checks.map((c) => cell(describeCheck(c))), ...(e.load ? [cell(describeLoad(e.load))] : [])].join(
                  "<br>",
              )
            : cell(e.message);
        return `| ${e.time} | ${e.kind} | ${e.phase ?? ""} | ${e.weight} | ${e.verdict ?? ""} | ${detail} |`;
    });
    return [
        `# Release ${r.version} on stack ${r.stack}: ${r.outcome}${r.dryRun ? " (dry run: nothing changed)" : ""}`,
        "",
        `- Image: \`${r.image}\``,
        `- Outcome: **${r.outcome}**: ${r.reason}`,
        `- Started ${r.startedAt}, finished ${r.finishedAt}`,
        `- Steps: ${r.policy.steps.join(", ")}; interval ${r.policy.interval}; failure threshold ${r.policy.failureThreshold}; no data: ${r.policy.noData}`,
        ...(r.manualSteps ? ["", "## Finish by hand", "", "```sh", ...r.manualSteps, "```"] : []),
        ...(r.promotion ? promotionSection(r.promotion, cell) : []),
        ...(r.approvals?.length
            ? [
                  "",
                  "## Gate decisions",
                  "",
                  "| gate | version | image | decision | by | at |",
                  "| --- | --- | --- | --- | --- | --- |",
                  ...r.approvals.map(
                      (a) =>
                          `| ${a.gate} | ${a.version} | ${a.image ?? "(not recorded)"} | ${a.decision} | ${cell(a.by)} | ${a.at} |`,
                  ),
              ]
            : []),
        ...(r.hooks?.length
            ? [
                  "",
                  "## Hook calls",
                  "",
                  "| time | hook | type | target | phase | weight | attempts | status | result |",
                  "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
                  ...r.hooks.map(
                      (h) =>
                          `| ${h.time} | ${h.hook} | ${h.type} | ${h.target} | ${h.phase ?? ""} | ${h.weight} | ${h.attempts} | ` +
                          `${h.status ?? ""} | ${h.ok ? "ok" : cell(h.error ?? "failed")} |`,
                  ),
              ]
            : []),
        "",
        `![weight, success rate and latency over time](${chartFile})`,
        "",
        "| time | event | phase | weight | verdict | detail |",
        "| --- | --- | --- | ---: | --- | --- |",
        ...rows,
        "",
    ].join("\n");
}

/** The promotion's audit trail: the source release (its report, its gate decisions), the soak, the approval. */
function promotionSection(p: PromotionAudit, cell: (text: string) => string): string[] {
    const s = p.source;
    return [
        "",
        "## Promotion",
        "",
        `- ${p.version} (${p.image}) from stack ${p.from} to stack ${p.to}, decided ${p.decidedAt}`,
        `- Source release: completed ${s.completedAt ?? "(time not recorded)"} on ${p.from}` +
            (s.report ? `; its report and analyses: [${path.basename(s.report)}](${s.report})` : ""),
        ...s.gateDecisions.map((a) => `- Source gate ${a.gate}: ${a.decision} by ${cell(a.by)} at ${a.at}`),
        ...(p.soak ? [`- Soak: ran ${p.soak.ran} as stable on ${p.from}; ${p.to} asks for ${p.soak.required}`] : []),
        ...(p.approval
            ? [
                  `- Approved for ${p.to} by ${cell(p.approval.by)} at ${p.approval.at} (${p.version}, ${p.approval.image})`,
              ]
            : [`- No approval asked by ${p.to}`]),
    ];
}

/** The Markdown report of the latest release of `version` on `stack` in `dir`, if one is there. */
export function latestReport(dir: string, stack: string, version: string): string | undefined {
    const prefix = reportBase(stack, version, "");
    let names: string[];
    try {
        names = fs.readdirSync(dir);
    } catch {
        return undefined;
    }
    const latest = names
        .filter((n) => n.startsWith(prefix) && n.endsWith(".md"))
        .sort()
        .at(-1);
    return latest === undefined ? undefined : path.join(dir, latest);
}

export const reportBase = (stack: string, version: string, startedAt: string) =>
    `${stack}-${version}-${startedAt.replace(/[:.]/g, "-")}`.replace(/[^A-Za-z0-9_.-]/g, "_");

/**
 * Writes `<dir>/<stack>-<version>-<time>.{json,md,svg}` and returns their paths. Every text of the result is
 * written with its URLs' credentials redacted (a reason may quote what a peer answered).
 */
export function writeReport(result: ReleaseResult, dir: string): { json: string; markdown: string; svg: string } {
    const r = redactDeep(result);
    fs.mkdirSync(dir, { recursive: true });
    const base = reportBase(r.stack, r.version, r.startedAt);
    const files = {
        json: path.join(dir, `${base}.json`),
        markdown: path.join(dir, `${base}.md`),
        svg: path.join(dir, `${base}.svg`),
    };
    fs.writeFileSync(files.json, `${JSON.stringify(r, null, 2)}\n`);
    fs.writeFileSync(files.svg, renderChart(r));
    fs.writeFileSync(files.markdown, renderMarkdown(r, path.basename(files.svg)));
    return files;
}

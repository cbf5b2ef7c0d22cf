/**
 * The report of a promotion in waves: one JSON and one Markdown file for every wave (what each wave did, its
 * release's own report, where the waves stopped and how to roll back the waves before). Deterministic: the same
 * result gives the same files.
 */
import * as fs from "fs";
import * as path from "path";
import { redactDeep } from "../../components/redact";
import { humanDuration } from "./promotion-gates";
import { mdCell, reportBase } from "../release/report";
import { WavesResult } from "./waves";

/** The Markdown of a waves result; `reports` maps a wave's stack to its release report's file name. */
export function renderWavesMarkdown(r: WavesResult, reports: Record<string, string> = {}): string {
    const rows = r.waves.map((w, i) => {
        const waited = w.soakWaitedMs ? ` (waited ${humanDuration(w.soakWaitedMs)} for its soak)` : "";
        const report = reports[w.to] ? `[report](${reports[w.to]})` : "";
        return `| ${i + 1} | ${w.from} -> ${w.to} | ${w.status} | ${mdCell(w.reason)}${waited} | ${report} |`;
    });
    return [
        `# Promotion of ${r.version ?? "?"} from ${r.from} in waves: ${r.outcome}${r.dryRun ? " (dry run: nothing changed)" : ""}`,
        "",
        ...(r.image ? [`- Image: \`${r.image}\``] : []),
        `- Waves: ${r.waves.map((w) => w.to).join(", ")}; each promoted from the one before it`,
        `- Started ${r.startedAt}, finished ${r.finishedAt}`,
        ...(r.stoppedAt ? [`- Stopped at ${r.stoppedAt}: the waves after it were not started`] : []),
        "",
        "| wave | promotion | status | why | release report |",
        "| ---: | --- | --- | --- | --- |",
        ...rows,
        ...(r.rollbackCommands.length > 0
            ? [
                  "",
                  "## The waves before the stop run the new version",
                  "",
                  "They were left as they are. To roll them back to what they ran before:",
                  "",
                  "```sh",
                  ...r.rollbackCommands,
                  "```",
              ]
            : []),
        "",
    ].join("\n");
}

/** Writes `<dir>/waves-<from>-<version>-<time>.{json,md}` and returns their paths. */
export function writeWavesReport(
    result: WavesResult,
    dir: string,
    reports: Record<string, string> = {},
): { json: string; markdown: string } {
    const r = redactDeep(result);
    fs.mkdirSync(dir, { recursive: true });
    const base = `waves-${reportBase(r.from, r.version ?? "none", r.startedAt)}`;
    const files = { json: path.join(dir, `${base}.json`), markdown: path.join(dir, `${base}.md`) };
    fs.writeFileSync(files.json, `${JSON.stringify(r, null, 2)}\n`);
    fs.writeFileSync(files.markdown, renderWavesMarkdown(r, reports));
    return files;
}

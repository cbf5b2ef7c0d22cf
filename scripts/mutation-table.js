#!/usr/bin/env node
// Prints the README's mutation table (Markdown) from Stryker's JSON report: per file and in total, the score
// (killed + timed out over those plus survived and no coverage), the counts by status, and the ignored mutants
// (static ones, with ignoreStatic, and those a "Stryker disable" comment marks equivalent).
// Usage: node scripts/mutation-table.js [reports/mutation/mutation.json]
"use strict";
const fs = require("fs");

const report = JSON.parse(fs.readFileSync(process.argv[2] ?? "reports/mutation/mutation.json", "utf8"));
const columns = ["Killed", "Timeout", "Survived", "NoCoverage", "Ignored"];

function count(mutants) {
    const c = Object.fromEntries(columns.map((k) => [k, 0]));
    for (const m of mutants) {
        if (m.status in c) c[m.status]++;
    }
    return c;
}

function row(name, c) {
    const detected = c.Killed + c.Timeout;
    const valid = detected + c.Survived + c.NoCoverage;
    const score = valid === 0 ? "n/a" : `${((100 * detected) / valid).toFixed(1)}%`;
    return `| ${name} | ${score} | ${columns.map((k) => c[k]).join(" | ")} |`;
}

const lines = [
    "| file | score | killed | timed out | survived | no coverage | ignored |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const all = [];
const files = Object.keys(report.files).sort();
for (const f of files) {
    all.push(...report.files[f].mutants);
    lines.push(row(f, count(report.files[f].mutants)));
}
lines.push(row(`**all ${files.length} files**`, count(all)).replace(/\| ([\d.]+%) \|/, "| **$1** |"));
console.log(lines.join("\n"));

// Sums the suites' counts (written by tests/count-reporter.js) into the last line of the CI log,
// "N passed, N failed". Pending tests count as failed; a suite that did not finish, exited non-zero without a
// failed test, or ran fewer tests than its floor in the floors file counts as one more failure.
// Usage: node .ci/summary.js <counts dir> <floors file> unit=<exit status> e2e=<exit status>
"use strict";
const fs = require("fs");

const [dir, floorsFile, ...suites] = process.argv.slice(2);
const floors = Object.fromEntries(
    fs
        .readFileSync(floorsFile, "utf8")
        .split("\n")
        .filter((l) => /^\w+=\d+/.test(l))
        .map((l) => l.split("=").map((x, i) => (i ? Number(x) : x.trim()))),
);
let passed = 0;
let failed = 0;
for (const arg of suites) {
    const [name, status] = arg.split("=");
    const file = `${dir}/${name}.json`;
    if (!fs.existsSync(file)) {
        console.error(`CI: the ${name} suite did not run to its end`);
        failed += 1;
        continue;
    }
    const c = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += c.passed;
    failed += c.failed + c.pending;
    if (c.pending > 0) {
        console.error(`CI: ${c.pending} ${name} test(s) pending or skipped; every test must run`);
    }
    if (Number(status) !== 0 && c.failed + c.pending === 0) {
        console.error(`CI: the ${name} suite exited with status ${status}`);
        failed += 1;
    }
    const ran = c.passed + c.failed + c.pending;
    if (floors[name] === undefined || ran < floors[name]) {
        console.error(`CI: the ${name} suite ran ${ran} tests, fewer than its floor ${floors[name]} in ${floorsFile}`);
        failed += 1;
    }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

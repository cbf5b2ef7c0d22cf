// Mocha's spec reporter, plus:
//  - the run's counts written as JSON to $MOCHA_COUNT_FILE (read by .ci/run);
//  - with $MOCHA_TIMING_TABLE=1, a table of the time each file and each test took, printed at the end of the run
//    (wall clock: a file's set-up and tear-down hooks are columns of their own), and as JSON to
//    $MOCHA_TIMING_FILE when that is set (scripts/e2e.sh merges the lanes' files into one table).
"use strict";
const fs = require("fs");
const path = require("path");
const Mocha = require("mocha");
const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_HOOK_END, EVENT_TEST_END } = Mocha.Runner.constants;

/** The file a runnable or suite belongs to, relative to the working directory. */
function fileOf(r) {
    for (let s = r; s; s = s.parent) {
        if (s.file) {
            return path.relative(process.cwd(), s.file);
        }
    }
    return "(root)";
}

/** Timings of one run: per file, its wall time, hooks and tests (seconds). */
class Timings {
    constructor() {
        this.files = new Map();
    }

    file(name) {
        let f = this.files.get(name);
        if (f === undefined) {
            f = { file: name, start: undefined, end: Date.now(), setup: 0, teardown: 0, hooks: 0, tests: [] };
            this.files.set(name, f);
        }
        return f;
    }

    toJSON() {
        return [...this.files.values()]
            .filter((f) => f.file !== "(root)" || f.tests.length > 0)
            .map((f) => ({
                file: f.file,
                seconds: (f.end - (f.start ?? f.end)) / 1000,
                setup: f.setup / 1000,
                teardown: f.teardown / 1000,
                hooks: f.hooks / 1000,
                tests: f.tests,
            }));
    }
}

/** The Markdown tables of one or more runs' timings (each a Timings#toJSON()). */
function timingTables(files, title = "Time per file and per test") {
    const s = (x) => `${x.toFixed(1)} s`;
    const lines = [
        `## ${title}`,
        "",
        "| file | wall | set-up | tests | tear-down |",
        "| --- | ---: | ---: | ---: | ---: |",
    ];
    for (const f of files) {
        const tests = f.tests.reduce((a, t) => a + t.seconds, 0);
        lines.push(`| ${f.file} | ${s(f.seconds)} | ${s(f.setup)} | ${s(tests)} | ${s(f.teardown)} |`);
    }
    const total = files.reduce((a, f) => a + f.seconds, 0);
    lines.push(
        `| **sum of files** | ${s(total)} | | | |`,
        "",
        "| file | test | time | state |",
        "| --- | --- | ---: | --- |",
    );
    for (const f of files) {
        for (const t of f.tests) {
            lines.push(
                `| ${path.basename(f.file)} | ${t.title.replace(/\|/g, "\\|")} | ${s(t.seconds)} | ${t.state} |`,
            );
        }
    }
    return lines.join("\n");
}

class CountReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        const timings = new Timings();
        runner.on(EVENT_SUITE_BEGIN, (suite) => {
            if (suite.file && suite.parent && suite.parent.root) {
                const f = timings.file(fileOf(suite));
                f.start = f.start ?? Date.now();
            }
        });
        runner.on(EVENT_SUITE_END, (suite) => {
            if (suite.file && suite.parent && suite.parent.root) {
                timings.file(fileOf(suite)).end = Date.now();
            }
        });
        runner.on(EVENT_HOOK_END, (hook) => {
            // A root hook (tests/e2e/hooks.ts) counts for the file of the test it ran for.
            const f = timings.file(fileOf(hook.ctx && hook.ctx.currentTest ? hook.ctx.currentTest : hook));
            const ms = hook.duration ?? 0;
            if (/"before all" hook/.test(hook.title)) {
                f.setup += ms;
            } else if (/"after all" hook/.test(hook.title)) {
                f.teardown += ms;
            } else {
                f.hooks += ms;
            }
        });
        runner.on(EVENT_TEST_END, (test) => {
            timings.file(fileOf(test)).tests.push({
                title: test.titlePath().slice(1).join(" "),
                seconds: (test.duration ?? 0) / 1000,
                state: test.state ?? "pending",
            });
        });
        runner.once(EVENT_RUN_END, () => {
            if (process.env.MOCHA_COUNT_FILE) {
                const { passes, failures, pending } = this.stats;
                fs.writeFileSync(
                    process.env.MOCHA_COUNT_FILE,
                    JSON.stringify({ passed: passes, failed: failures, pending }),
                );
            }
            if (process.env.MOCHA_TIMING_FILE) {
                fs.writeFileSync(process.env.MOCHA_TIMING_FILE, JSON.stringify(timings.toJSON(), null, 1));
            }
            if (process.env.MOCHA_TIMING_TABLE === "1") {
                process.stdout.write(`\n${timingTables(timings.toJSON())}\n`);
            }
        });
    }
}

module.exports = CountReporter;
module.exports.timingTables = timingTables;

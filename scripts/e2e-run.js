// The end-to-end suite's runner (scripts/e2e.sh starts it with the toolchain on PATH and the local cluster up).
//
//   node scripts/e2e-run.js [test files...] [mocha flags...]
//
// tests/e2e/plan.json says how the files run:
//  - "solo": files that install Istio themselves (a fresh install, an upgrade, a removal). They run first, one
//    mocha process, with the shared Istio removed (tests/e2e/shared-mesh.ts down).
//  - "lanes": every other file, in lanes that run side by side (one mocha process each, output lines prefixed
//    with the lane's letter), on one Istio installation shared by all of them (tests/e2e/shared-mesh.ts up).
//    Each file uses namespaces, hosts and ports of its own. E2E_LANES=1 runs the lanes one after another.
// A file given on the command line must be in the plan, and every file in the plan must exist: no file is
// silently left out. The counts of all processes go to $MOCHA_COUNT_FILE as one; a table of the time each phase,
// file and test took is printed at the end (and kept in CI's output).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { timingTables } = require("../tests/count-reporter.js");

const REPO = path.resolve(__dirname, "..");
const PLAN_FILE = path.join(REPO, "tests/e2e/plan.json");

/** A wrong plan or file argument: e2e-run exits 2 with its message. */
class PlanError extends Error {}
function fail(message) {
    throw new PlanError(message);
}

/**
 * The files to run, as the plan says: `solo` files and `lanes` (lists of files), each tests/e2e/<name>.test.ts,
 * the plan checked both ways against the files on disk; `selected` (paths) limits the run to those files.
 * E2E_LANES=1 makes one lane of all.
 */
function loadPlan(selected, plan = JSON.parse(fs.readFileSync(PLAN_FILE, "utf8")), env = process.env) {
    const file = (name) => `tests/e2e/${name}.test.ts`;
    const planned = [...plan.solo, ...plan.lanes.flat()];
    const onDisk = fs
        .readdirSync(path.join(REPO, "tests/e2e"))
        .filter((f) => f.endsWith(".test.ts"))
        .map((f) => f.replace(/\.test\.ts$/, ""));
    for (const name of planned) {
        if (!onDisk.includes(name)) {
            fail(`${PLAN_FILE} names ${file(name)}, which does not exist`);
        }
    }
    for (const name of onDisk) {
        if (planned.filter((p) => p === name).length !== 1) {
            fail(`${file(name)} must be named exactly once in ${PLAN_FILE} (solo or one lane)`);
        }
    }
    const wanted = new Set(selected.map((f) => path.basename(f).replace(/\.test\.ts$/, "")));
    for (const f of selected) {
        if (!planned.includes(path.basename(f).replace(/\.test\.ts$/, ""))) {
            fail(`${f} is not an end-to-end test file of ${PLAN_FILE}`);
        }
    }
    const keep = (names) => names.filter((n) => selected.length === 0 || wanted.has(n)).map(file);
    let lanes = plan.lanes.map(keep).filter((l) => l.length > 0);
    if (env.E2E_LANES === "1") {
        lanes = lanes.length > 0 ? [lanes.flat()] : [];
    }
    return { solo: keep(plan.solo), lanes };
}

/** Runs a command, each line of its output prefixed; resolves with its exit code. */
function run(cmd, args, { prefix = "", env = {} } = {}) {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, {
            cwd: REPO,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        for (const [from, to] of [
            [child.stdout, process.stdout],
            [child.stderr, process.stderr],
        ]) {
            let rest = "";
            from.on("data", (chunk) => {
                const lines = (rest + chunk.toString()).split("\n");
                rest = lines.pop();
                for (const l of lines) {
                    to.write(`${prefix}${l}\n`);
                }
            });
            from.on("end", () => rest !== "" && to.write(`${prefix}${rest}\n`));
        }
        child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
}

/** How the project's TypeScript tools run (package.json's scripts): the .ts loader and the deferred SDK tooling. */
const PRELOAD = ["-r", "./stacks/preload.js"];
const MOCHA = require.resolve("mocha/bin/mocha.js");

/** Mocha's options that take a value as the next argument (that value is never a test file of ours). */
// prettier-ignore
const VALUE_FLAGS = new Set([
    "--grep", "-g", "--fgrep", "-f", "--file", "--reporter", "-R", "--reporter-option", "-O",
    "--require", "-r", "--timeout", "-t", "--slow", "-s", "--config", "--spec", "--ui", "-u", "--jobs", "-j",
]);

/**
 * The end-to-end files named among mocha's flags (after the first argument that starts with "-"), as loadPlan
 * would take them: mocha would get them as its own, and run them in every lane.
 */
function lateTestFiles(flags, plan = JSON.parse(fs.readFileSync(PLAN_FILE, "utf8"))) {
    const planned = [...plan.solo, ...plan.lanes.flat()];
    return flags.filter(
        (a, i) =>
            !a.startsWith("-") &&
            !(i > 0 && VALUE_FLAGS.has(flags[i - 1])) &&
            planned.includes(path.basename(a).replace(/\.test\.ts$/, "")),
    );
}

async function main() {
    const argv = process.argv.slice(2);
    const firstFlag = argv.findIndex((a) => a.startsWith("-"));
    const files = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
    const flags = firstFlag < 0 ? [] : argv.slice(firstFlag);
    const late = lateTestFiles(flags);
    if (late.length > 0) {
        fail(`test files go before mocha's flags: ${late.join(", ")} came after ${flags[0]}`);
    }
    const { solo, lanes } = loadPlan(files);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-e2e-run-"));
    const phases = [];
    const results = [];
    const t0 = Date.now();
    const timed = async (what, fn) => {
        const start = Date.now();
        const r = await fn();
        phases.push({ what, seconds: (Date.now() - start) / 1000 });
        return r;
    };
    const mocha = (id, specFiles, prefix) =>
        run(process.execPath, [MOCHA, "--config", ".mocharc.e2e.json", ...specFiles, ...flags], {
            prefix,
            env: {
                MOCHA_COUNT_FILE: path.join(dir, `${id}.count.json`),
                MOCHA_TIMING_FILE: path.join(dir, `${id}.timing.json`),
                MOCHA_TIMING_TABLE: "0",
            },
        }).then((code) => results.push({ id, code }));
    const mesh = (verb) => run(process.execPath, [...PRELOAD, "tests/e2e/shared-mesh.ts", verb]);

    if (solo.length > 0) {
        await timed("solo: shared Istio removed", async () => {
            if ((await mesh("down")) !== 0) {
                results.push({ id: "shared-mesh-down", code: 1 });
            }
        });
        await timed(`solo: ${solo.map((f) => path.basename(f)).join(", ")}`, () => mocha("solo", solo, ""));
    }
    if (lanes.length > 0) {
        const meshUp = await timed("lanes: shared Istio installed", () => mesh("up"));
        if (meshUp !== 0) {
            results.push({ id: "shared-mesh-up", code: 1 });
        } else {
            const letters = "ABCDEFGH";
            await timed(`lanes: ${lanes.length} side by side`, () =>
                Promise.all(
                    lanes.map((l, i) => mocha(`lane-${letters[i]}`, l, lanes.length > 1 ? `[${letters[i]}] ` : "")),
                ),
            );
        }
    }
    phases.push({ what: "in all", seconds: (Date.now() - t0) / 1000 });

    // One count for CI, one table for people.
    const counts = { passed: 0, failed: 0, pending: 0 };
    const timings = [];
    for (const { id, code } of results) {
        const countFile = path.join(dir, `${id}.count.json`);
        if (fs.existsSync(countFile)) {
            const c = JSON.parse(fs.readFileSync(countFile, "utf8"));
            counts.passed += c.passed;
            counts.failed += c.failed;
            counts.pending += c.pending;
        } else if (code !== 0) {
            counts.failed += 1; // a process that failed before counting (a broken mesh install, a crash)
        }
        const timingFile = path.join(dir, `${id}.timing.json`);
        if (fs.existsSync(timingFile)) {
            const lane = id.startsWith("lane-") ? ` (lane ${id.slice(5)})` : "";
            for (const f of JSON.parse(fs.readFileSync(timingFile, "utf8"))) {
                timings.push({ ...f, file: `${f.file}${lane}` });
            }
        }
    }
    if (process.env.MOCHA_COUNT_FILE) {
        fs.writeFileSync(process.env.MOCHA_COUNT_FILE, JSON.stringify(counts));
    }
    const phaseTable = [
        "## e2e phases (wall clock)",
        "",
        "| phase | time |",
        "| --- | ---: |",
        ...phases.map((p) => `| ${p.what} | ${p.seconds.toFixed(1)} s |`),
    ].join("\n");
    process.stdout.write(`\n${phaseTable}\n\n${timingTables(timings, "e2e time per file and per test")}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}

module.exports = { loadPlan, lateTestFiles, PlanError };

if (require.main === module) {
    main().catch((e) => {
        console.error(e instanceof PlanError ? `e2e: ${e.message}` : e);
        process.exit(e instanceof PlanError ? 2 : 1);
    });
}

/**
 * The end-to-end suite's plan (tests/e2e/plan.json, read by scripts/e2e-run.js): every e2e file runs, once, solo
 * or in one lane; a file outside the plan, or a plan entry without a file, stops the run before anything starts.
 */
import * as assert from "assert";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { lateTestFiles, loadPlan } = require("../scripts/e2e-run.js") as {
    lateTestFiles: (flags: string[], plan?: { solo: string[]; lanes: string[][] }) => string[];
    loadPlan: (
        selected: string[],
        plan?: { solo: string[]; lanes: string[][] },
        env?: Record<string, string>,
    ) => { solo: string[]; lanes: string[][] };
};

describe("the e2e plan", () => {
    it("test files among mocha's flags are found, as the plan names them; a flag's own value is not one", () => {
        const plan = { solo: ["01-program"], lanes: [["02-release", "09-gates"]] };
        assert.deepStrictEqual(
            lateTestFiles(["--bail", "tests/e2e/09-gates.test.ts", "02-release", "--grep", "02-release"], plan),
            ["tests/e2e/09-gates.test.ts", "02-release"],
        );
        assert.deepStrictEqual(lateTestFiles(["--file", "tests/e2e/01-program.test.ts", "--bail"], plan), []);
        assert.deepStrictEqual(lateTestFiles(["--grep", "waves", "other.test.ts"], plan), []);
    });

    it("names every e2e file exactly once; 01-program runs solo, before the lanes", () => {
        const { solo, lanes } = loadPlan([]);
        assert.deepStrictEqual(solo, ["tests/e2e/01-program.test.ts"]);
        assert.ok(lanes.length >= 2, "lanes side by side");
        const all = [...solo, ...lanes.flat()];
        assert.strictEqual(new Set(all).size, all.length);
    });

    it("runs only the files asked for, keeping their lanes; E2E_LANES=1 makes one lane", () => {
        const plan = {
            solo: ["01-program"],
            lanes: [
                ["02-release", "05-promql", "04-istio-mesh", "06-speed", "07-package"],
                [
                    "03-promote",
                    "08-policy",
                    "09-gates",
                    "10-load",
                    "11-autoscaling",
                    "12-runners",
                    "13-go-program",
                    "14-gateway-api",
                ],
            ],
        };
        const asked = ["tests/e2e/05-promql.test.ts", "tests/e2e/03-promote.test.ts"];
        assert.deepStrictEqual(loadPlan(asked, plan, {}), {
            solo: [],
            lanes: [["tests/e2e/05-promql.test.ts"], ["tests/e2e/03-promote.test.ts"]],
        });
        assert.deepStrictEqual(loadPlan(asked, plan, { E2E_LANES: "1" }).lanes, [
            ["tests/e2e/05-promql.test.ts", "tests/e2e/03-promote.test.ts"],
        ]);
    });

    it("refuses a file outside the plan, a plan entry without a file, and a file named twice", () => {
        const plan = (lanes: string[][]) => ({ solo: ["01-program"], lanes });
        const every = [["02-release", "03-promote", "04-istio-mesh", "05-promql", "06-speed"]];
        const rest = [
            "07-package",
            "08-policy",
            "09-gates",
            "10-load",
            "11-autoscaling",
            "12-runners",
            "13-go-program",
            "14-gateway-api",
        ];
        assert.throws(() => loadPlan([], plan(every)), /tests\/e2e\/07-package\.test\.ts must be named exactly once/);
        assert.throws(
            () => loadPlan([], plan([...every, rest, ["11-nothing"]])),
            /names tests\/e2e\/11-nothing\.test\.ts, which does not exist/,
        );
        assert.throws(
            () => loadPlan([], plan([...every, rest, ["02-release"]])),
            /tests\/e2e\/02-release\.test\.ts must be named exactly once/,
        );
        assert.throws(
            () => loadPlan(["tests/e2e/99-none.test.ts"], plan([...every, rest])),
            /tests\/e2e\/99-none\.test\.ts is not an end-to-end test file/,
        );
    });
});

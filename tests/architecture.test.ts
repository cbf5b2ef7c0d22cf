/**
 * The layout as the architecture: each folder names one role, and imports only run downwards
 * (stacks/cli -> stacks/release, stacks/promote -> stacks/automation -> stacks/program.ts -> policies -> config ->
 * components), without cycles.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { configKeySpecs } from "../config/program";

const ROOT = path.resolve(__dirname, "..");

/** Rooms from the bottom up; a file may import from its own room or any room below it. */
const LAYERS = [
    "scripts/mesh",
    "components",
    "config",
    "policies",
    "stacks/program.ts",
    "stacks/automation",
    "stacks/release",
    "stacks/promote",
    "stacks/cli",
    "stacks/index.ts",
    "index.ts",
];

function layerOf(file: string): number {
    const rel = path.relative(ROOT, file);
    const i = LAYERS.findIndex((l) => rel === l || rel.startsWith(`${l}/`));
    if (i < 0) {
        throw new Error(`${rel} is in no room of the layout`);
    }
    return i;
}

function sources(dir: string, ext = /\.ts$/): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sources(p, ext) : ext.test(e.name) ? [p] : [];
    });
}

const FILES = [
    ...sources(path.join(ROOT, "components")),
    ...sources(path.join(ROOT, "config")),
    ...sources(path.join(ROOT, "policies")),
    ...sources(path.join(ROOT, "stacks")),
    path.join(ROOT, "index.ts"),
];

/** The project files a file imports (relative imports only), resolved to paths. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const out: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
        const base = path.resolve(path.dirname(file), m[1]);
        const target = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
        assert.ok(target, `${path.relative(ROOT, file)} imports ${m[1]}, which does not exist`);
        out.push(target);
    }
    return out;
}

describe("architecture", () => {
    it("imports only run downwards through the rooms", () => {
        const upward: string[] = [];
        for (const file of FILES) {
            for (const target of importsOf(file)) {
                if (layerOf(target) > layerOf(file)) {
                    upward.push(`${path.relative(ROOT, file)} -> ${path.relative(ROOT, target)}`);
                }
            }
        }
        assert.deepStrictEqual(upward, []);
    });

    it("has no import cycles", () => {
        const graph = new Map(FILES.map((f) => [f, importsOf(f)]));
        const state = new Map<string, "visiting" | "done">();
        const cycles: string[] = [];
        const visit = (f: string, trail: string[]) => {
            if (state.get(f) === "done") {
                return;
            }
            if (state.get(f) === "visiting") {
                cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(ROOT, x)).join(" -> "));
                return;
            }
            state.set(f, "visiting");
            for (const t of graph.get(f) ?? []) {
                visit(t, [...trail, f]);
            }
            state.set(f, "done");
        };
        FILES.forEach((f) => visit(f, []));
        assert.deepStrictEqual(cycles, []);
    });

    it("keeps every source file under 400 lines (TypeScript, shell and Go)", () => {
        const long = [
            ...FILES,
            ...sources(path.join(ROOT, "bench")),
            ...sources(path.join(ROOT, "scripts"), /\.(ts|sh|go)$/),
        ]
            .map((f) => [path.relative(ROOT, f), fs.readFileSync(f, "utf8").split("\n").length] as const)
            .filter(([, n]) => n > 400);
        assert.deepStrictEqual(long, []);
    });

    it("declares each config key once", () => {
        const keys = configKeySpecs().map((s) => s.key);
        assert.deepStrictEqual(
            keys.filter((k, i) => keys.indexOf(k) !== i),
            [],
        );
    });

    it("exports from the package only the components and the documented library", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            exports: Record<string, { default: string }>;
        };
        assert.deepStrictEqual(Object.fromEntries(Object.entries(pkg.exports).map(([k, v]) => [k, v.default])), {
            ".": "./bin/components/index.js",
            "./stacks": "./bin/stacks/index.js",
        });
    });
});

import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as vm from "vm";

// stacks/sdk-deferral.js is JavaScript (node --require loads stacks/preload.js, which installs it, before any
// TypeScript can run); requiring it installs nothing (preload.js would register its .ts loader in this process).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const deferral = require("../../stacks/sdk-deferral.js") as {
    deferredExports(load: () => unknown): Record<string | symbol, unknown>;
    DEFERRED: Set<string>;
};

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs `script` in a new Node.js process from the project, with `-r ./stacks/preload.js`; returns its stdout. */
function preloaded(script: string): string {
    return execFileSync(process.execPath, ["-r", "./stacks/preload.js", "-e", script], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"], // serializeFunction warns of the built-in modules it looks at
    });
}

/** The project's `node_modules/<name>/` files this process has loaded, as a script expression. */
const loaded = (name: string) =>
    `Object.keys(require.cache).some((k) => k.includes(${JSON.stringify(`/node_modules/${name}/`)}))`;

describe("the preload (stacks/preload.js: the .ts loader, @pulumi/pulumi's serialization tooling on first use)", () => {
    it("@pulumi/pulumi and its runtime load without TypeScript's compiler or npm's arborist", () => {
        const out = JSON.parse(
            preloaded(
                `require("@pulumi/pulumi"); require("@pulumi/pulumi/runtime");` +
                    `console.log(JSON.stringify({ ts: ${loaded("typescript")}, arborist: ${loaded("@npmcli/arborist")} }))`,
            ),
        );
        assert.deepStrictEqual(out, { ts: false, arborist: false });
    });

    it("without it, they do load (what the deferral saves is real)", () => {
        const out = execFileSync(
            process.execPath,
            ["-e", `require("@pulumi/pulumi"); console.log(${loaded("typescript")} && ${loaded("@npmcli/arborist")})`],
            { cwd: ROOT, encoding: "utf8" },
        );
        assert.strictEqual(out.trim(), "true");
    });

    it("a function still serializes (pulumi.runtime.serializeFunction loads the deferred modules on first use)", () => {
        const out = JSON.parse(
            preloaded(
                `const pulumi = require("@pulumi/pulumi");` +
                    `const before = ${loaded("typescript")};` +
                    `pulumi.runtime.serializeFunction((a) => a + 41, { isFactoryFunction: false }).then((s) =>` +
                    ` console.log(JSON.stringify({ before, after: ${loaded("typescript")}, text: s.text })));`,
            ),
        ) as { before: boolean; after: boolean; text: string };
        assert.strictEqual(out.before, false);
        assert.strictEqual(out.after, true);
        assert.match(out.text, /a \+ 41/);
        const sandbox = { exports: {} as { handler?: (a: number) => number } };
        vm.runInNewContext(out.text, sandbox);
        assert.strictEqual(sandbox.exports.handler!(1), 42);
    });

    it("the .ts loader is on: a TypeScript file of the project runs", () => {
        assert.strictEqual(
            preloaded(`console.log(require("./config/namespace.ts").qualify("canaryWeight"))`).trim(),
            "istio-canary:canaryWeight",
        );
    });

    it("the SDK's own __importStar hands the stand-in on, and its named exports are the real module's", () => {
        const file = require.resolve("@pulumi/pulumi/runtime/closure/codePaths.js");
        const src = fs.readFileSync(file, "utf8");
        const prologue = src.slice(0, src.indexOf('Object.defineProperty(exports, "__esModule"'));
        const sandbox: { __importStar?: (m: unknown) => Record<string, unknown> } = {};
        vm.runInNewContext(`${prologue}; this.__importStar = __importStar;`, sandbox);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const arborist = require("@npmcli/arborist") as { Arborist: unknown };
        let loads = 0;
        const star = sandbox.__importStar!(
            deferral.deferredExports(() => {
                loads++;
                return arborist;
            }),
        );
        assert.strictEqual(loads, 0, "handed on without reading an export");
        assert.strictEqual(star.Arborist, arborist.Arborist);
        assert.strictEqual(loads, 1);
    });

    it("the SDK requires the deferred modules only where and how the stand-in serves them (an SDK upgrade re-checks)", () => {
        const root = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
        const found: string[] = [];
        const walk = (dir: string): void => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const p = path.join(dir, e.name);
                if (e.isDirectory() && e.name !== "vendor" && e.name !== "node_modules") {
                    walk(p);
                } else if (e.isFile() && e.name.endsWith(".js")) {
                    for (const line of fs.readFileSync(p, "utf8").split("\n")) {
                        if (/require\("(typescript|@npmcli\/arborist)"\)/.test(line)) {
                            found.push(`${path.relative(root, p)}: ${line.trim()}`);
                        }
                    }
                }
            }
        };
        walk(root);
        assert.deepStrictEqual(found.sort(), [
            'runtime/closure/codePaths.js: const arborist = __importStar(require("@npmcli/arborist"));',
            'tsutils.js: const ts = require("typescript");',
            'typescript-shim.js: module.exports = require("typescript");',
        ]);
    });

    it("a deferred module loads once, on the first read, and reads through to its exports", () => {
        let loads = 0;
        const real = { answer: 42, fn: () => "called" };
        const m = deferral.deferredExports(() => {
            loads++;
            return real;
        });
        assert.strictEqual(m.__esModule, true, "says __esModule before loading");
        assert.strictEqual(loads, 0);
        assert.strictEqual(m.answer, 42);
        assert.strictEqual((m.fn as () => string)(), "called");
        assert.ok("fn" in m);
        assert.ok("__esModule" in m);
        m.added = 1;
        assert.strictEqual((real as Record<string, unknown>).added, 1, "a write reaches the module");
        assert.deepStrictEqual(Object.keys(m).sort(), ["added", "answer", "fn"]);
        assert.strictEqual(loads, 1);
    });

    it("only @pulumi/pulumi's own requests are deferred: anyone else gets the module itself", () => {
        assert.deepStrictEqual([...deferral.DEFERRED].sort(), ["@npmcli/arborist", "typescript"]);
        const out = preloaded(
            `const ts = require("typescript"); console.log(typeof ts.transpileModule, ${loaded("typescript")})`,
        );
        assert.strictEqual(out.trim(), "function true");
    });

    it("Pulumi.yaml preloads it into every program (nodeargs)", () => {
        const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
            runtime: { options: { nodeargs?: string } };
        };
        assert.strictEqual(project.runtime.options.nodeargs, "--require ./stacks/preload.js");
    });
});

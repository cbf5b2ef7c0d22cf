import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as vm from "vm";

// stacks/preload.js is JavaScript (node --require loads it before any TypeScript can run).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const preload = require("../../stacks/preload.js") as {
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

    it("a deferred module loads once, on the first read, and reads through to its exports", () => {
        let loads = 0;
        const real = { answer: 42, fn: () => "called" };
        const m = preload.deferredExports(() => {
            loads++;
            return real;
        });
        assert.strictEqual(m.__esModule, true, "says __esModule before loading");
        assert.strictEqual(loads, 0);
        assert.strictEqual(m.answer, 42);
        assert.strictEqual((m.fn as () => string)(), "called");
        assert.ok("fn" in m);
        assert.deepStrictEqual(Object.keys(m).sort(), ["answer", "fn"]);
        assert.strictEqual(loads, 1);
    });

    it("only @pulumi/pulumi's own requests are deferred: anyone else gets the module itself", () => {
        assert.deepStrictEqual([...preload.DEFERRED].sort(), ["@npmcli/arborist", "typescript"]);
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

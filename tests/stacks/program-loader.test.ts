import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// stacks/program-loader.js is JavaScript (main.js loads it before any TypeScript can run).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loader = require("../../stacks/program-loader.js") as {
    compile(filename: string, cacheDir: string): string;
    transpile(source: string, filename: string): string;
};

const ROOT = path.resolve(__dirname, "..", "..");
const SOURCE = `import * as path from "path";\nexport const weight: number = 50;\nexport const base = path.basename("/a/b.ts");\n`;

/** Runs `script` in a new Node.js process, from the project, so its require cache is fresh; returns its stdout. */
function node(script: string): string {
    return execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
}

describe("the program loader (main.js: index.ts through sucrase, with a disk cache)", () => {
    let dir: string;
    let cache: string;
    let file: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-loader-"));
        cache = path.join(dir, "cache");
        file = path.join(dir, "program.ts");
        fs.writeFileSync(file, SOURCE);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Requires `file` through the loader in a new process; prints its exports and whether sucrase was loaded. */
    const load = () =>
        JSON.parse(
            node(
                `require("./stacks/program-loader.js").register(${JSON.stringify(cache)});` +
                    `const m = require(${JSON.stringify(file)});` +
                    `const sucrase = Object.keys(require.cache).some((k) => k.includes("/node_modules/sucrase/dist/"));` +
                    `console.log(JSON.stringify({ weight: m.weight, base: m.base, sucrase }));`,
            ),
        ) as { weight: number; base: string; sucrase: boolean };

    it("runs a TypeScript file (types stripped, imports as CommonJS), as sucrase's own hook would compile it", () => {
        assert.deepStrictEqual(load(), { weight: 50, base: "b.ts", sucrase: true });
        const [cached] = fs.readdirSync(cache);
        assert.strictEqual(
            fs.readFileSync(path.join(cache, cached), "utf8"),
            loader.transpile(SOURCE, file),
            "the cache holds sucrase's output",
        );
        assert.match(
            loader.transpile(SOURCE, file),
            /\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,/,
        );
    });

    it("an error thrown by the program keeps its TypeScript line in the stack (Pulumi's runner maps it)", () => {
        fs.writeFileSync(file, `const n: number = 1;\n\nthrow new Error("bad config " + n);\n`);
        const out = node(
            `require("source-map-support/register");` +
                `require("./stacks/program-loader.js").register(${JSON.stringify(cache)});` +
                `try { require(${JSON.stringify(file)}); } catch (e) { console.log(e.stack); }`,
        );
        assert.match(out, /^Error: bad config 1\n/);
        assert.ok(out.includes(`${file}:3:`), out);
    });

    it("a second load of the same source reads the cache and never loads sucrase", () => {
        load();
        const [cached] = fs.readdirSync(cache);
        // Proof that the cached file is what runs: change it, and the next load runs the change.
        fs.writeFileSync(
            path.join(cache, cached),
            fs.readFileSync(path.join(cache, cached), "utf8").replace("= 50", "= 51"),
        );
        assert.deepStrictEqual(load(), { weight: 51, base: "b.ts", sucrase: false });
        assert.deepStrictEqual(fs.readdirSync(cache), [cached], "no second entry");
    });

    it("a changed source is transpiled again, never served from the old entry", () => {
        load();
        fs.writeFileSync(file, SOURCE.replace("= 50", "= 70"));
        assert.deepStrictEqual(load(), { weight: 70, base: "b.ts", sucrase: true });
        assert.strictEqual(fs.readdirSync(cache).length, 2);
    });

    it("the same source at another path has its own entry (the source map names the file)", () => {
        const other = path.join(dir, "other.ts");
        fs.writeFileSync(other, SOURCE);
        loader.compile(file, cache);
        loader.compile(other, cache);
        assert.strictEqual(fs.readdirSync(cache).length, 2);
    });

    it("a cache that cannot be written costs only the transpile: the program still runs", () => {
        fs.writeFileSync(cache, "a file where the cache folder should be");
        assert.strictEqual(loader.compile(file, cache), loader.transpile(SOURCE, file));
        assert.deepStrictEqual({ ...load(), sucrase: undefined }, { weight: 50, base: "b.ts", sucrase: undefined });
    });

    it("ISTIO_CANARY_TS_CACHE_DIR moves the cache (the benchmark's cold-cache row)", () => {
        execFileSync(
            process.execPath,
            ["-e", `require("./stacks/program-loader.js").register(); require(${JSON.stringify(file)});`],
            {
                cwd: ROOT,
                env: { ...process.env, ISTIO_CANARY_TS_CACHE_DIR: cache },
            },
        );
        assert.strictEqual(fs.readdirSync(cache).length, 1);
    });

    it("leaves no temporary file behind", () => {
        loader.compile(file, cache);
        assert.deepStrictEqual(
            fs.readdirSync(cache).filter((f) => !/^[0-9a-f]{64}\.js$/.test(f)),
            [],
        );
    });
});

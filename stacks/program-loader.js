/* global Buffer */
// How `pulumi up` loads the TypeScript program (main.js): a `.ts` require hook that transpiles each file with sucrase
// (pure JavaScript, no type checking: CI type-checks with `npm run lint`) and keeps the output in a disk cache,
// node_modules/.cache/istio-canary/ts, keyed by the sucrase version, the file's path and its source. An update whose
// program did not change since the last one reads every file from the cache and never loads sucrase: about as fast
// as compiled JavaScript, with nothing to build (bench/shift.ts measures both). The cache is only an optimisation:
// when it cannot be read or written, the file is transpiled as if there were none.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** The options of sucrase's own `sucrase/register/ts` hook, which this loader replaces. */
const SUCRASE_OPTIONS = { transforms: ["imports", "typescript"] };

/** The inline source map's comment, split so that this file has none: source-map-support (which Pulumi's runner
 * registers) reads the last such comment of each file in a stack trace, this one included, and would take the
 * template below for a map. */
const SOURCE_MAP_COMMENT = "//# source" + "MappingURL=data:application/json;charset=utf-8;base64,";

/** The default cache folder: in the project's node_modules, where build tools keep theirs. */
const DEFAULT_CACHE_DIR = path.join(__dirname, "..", "node_modules", ".cache", "istio-canary", "ts");

/** sucrase's JavaScript for `source`, with its source map inline, as `sucrase/register/ts` would compile it. */
function transpile(source, filename) {
    const { transform } = require("sucrase");
    const out = transform(source, {
        ...SUCRASE_OPTIONS,
        filePath: filename,
        sourceMapOptions: { compiledFilename: filename },
    });
    const map = Buffer.from(JSON.stringify(out.sourceMap)).toString("base64");
    return `${out.code}\n${SOURCE_MAP_COMMENT}${map}`;
}

/** The cache file of one version of one source file. */
function cacheFile(cacheDir, filename, source) {
    const version = require("sucrase/package.json").version;
    const key = crypto.createHash("sha256").update(`${version}\0${filename}\0${source}`).digest("hex");
    return path.join(cacheDir, `${key}.js`);
}

/** The JavaScript for one `.ts` file: from the cache when this exact source was transpiled before, else transpiled
 * now and written to the cache (atomically: a temporary file renamed into place, so a concurrent update never reads
 * half a file). */
function compile(filename, cacheDir) {
    const source = fs.readFileSync(filename, "utf8");
    const file = cacheFile(cacheDir, filename, source);
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        // Not cached yet (or unreadable): transpile below.
    }
    const code = transpile(source, filename);
    try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, file);
    } catch {
        // A read-only node_modules only costs the next update its transpile.
    }
    return code;
}

/** Installs the `.ts` require hook. `cacheDir` defaults to `ISTIO_CANARY_TS_CACHE_DIR` when set (the benchmark's
 * cold-cache row points it at an empty folder), else node_modules/.cache/istio-canary/ts. */
function register(cacheDir = process.env.ISTIO_CANARY_TS_CACHE_DIR || DEFAULT_CACHE_DIR) {
    require.extensions[".ts"] = (module, filename) => module._compile(compile(filename, cacheDir), filename);
}

module.exports = { register, compile, transpile, DEFAULT_CACHE_DIR };

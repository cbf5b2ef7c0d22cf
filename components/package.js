/**
 * The component package's entry point for the Pulumi plugin host (package.json `main`): the host loads the package
 * with `require(<repo>)`, after @pulumi/pulumi's run-plugin registered ts-node with type checking. Type checking
 * cost a program that uses the package 6 times the CPU of loading it (10 s and more) on every preview and update;
 * `npm run lint` type-checks the sources, so this package's own .ts files load transpile-only, with the
 * repository's compiler options. Other .ts files keep the host's handler.
 */
"use strict";
const fs = require("fs");
const path = require("path");

function loadOwnSourcesTranspileOnly() {
    let service;
    try {
        service = require("ts-node").create({
            transpileOnly: true,
            project: path.join(__dirname, "..", "tsconfig.json"),
        });
    } catch {
        return; // no ts-node beside the package (installed without devDependencies): the host's handler compiles
    }
    const root = path.join(__dirname, "..") + path.sep;
    const previous = require.extensions[".ts"] ?? require.extensions[".js"];
    require.extensions[".ts"] = function (m, filename) {
        if (!filename.startsWith(root) || filename.includes(`${path.sep}node_modules${path.sep}`)) {
            return previous(m, filename);
        }
        // Compiled and run here, not through the `.js` handler: ts-node wraps that one with its own service too.
        m._compile(service.compile(fs.readFileSync(filename, "utf8"), filename), filename);
    };
}

loadOwnSourcesTranspileOnly();
module.exports = require("./package.ts");

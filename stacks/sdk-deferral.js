// @pulumi/pulumi's function-serialization tooling, loaded on first use instead of at start (stacks/preload.js
// installs it; this file only defines it, so that requiring it changes nothing). The SDK's runtime requires
// TypeScript's compiler and npm's arborist (with pacote, sigstore and the rest) when it loads, for
// `pulumi.runtime.serializeFunction` and `computeCodePaths` (dynamic providers, serialized callbacks), which this
// project never calls: about 0.6 s of CPU in each process (`npm run bench:startup`). Each stays a real require,
// made the first time anything is read from the module; tests/stacks/preload.test.ts checks both uses, and that
// the SDK still requires them only in the ways this stand-in serves.
"use strict";
const Module = require("module");

/** What @pulumi/pulumi requires at load only for function serialization. */
const DEFERRED = new Set(["typescript", "@npmcli/arborist"]);

/** A requiring module inside @pulumi/pulumi (the only requests deferred: anyone else gets the module at once). */
const PULUMI_SDK_FILE = /[\\/]node_modules[\\/]@pulumi[\\/]pulumi[\\/]/;

/**
 * A stand-in for a module's exports that requires the module the first time anything is read from it or written
 * to it. It says `__esModule`, so that TypeScript's `__importStar` hands it on as it is instead of copying (reading)
 * every export: the SDK reads named exports through it (`arborist.Arborist`, `ts.createSourceFile`), never a
 * `default` and never calls it.
 */
function deferredExports(load) {
    let exports;
    const real = () => (exports ??= load());
    return new Proxy(
        {},
        {
            get: (_, key) => (key === "__esModule" ? true : real()[key]),
            has: (_, key) => key === "__esModule" || key in real(),
            set: (_, key, value) => Reflect.set(real(), key, value),
            defineProperty: (_, key, d) => Reflect.defineProperty(real(), key, d),
            deleteProperty: (_, key) => Reflect.deleteProperty(real(), key),
            ownKeys: () => Reflect.ownKeys(real()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(real(), key);
                return d === undefined ? undefined : { ...d, configurable: true };
            },
        },
    );
}

/**
 * Installs the deferral (once per process). A module that cannot be found is not deferred: the SDK's own fallback
 * (typescript-shim.js's bundled TypeScript) still gets its error at once.
 */
function deferSdkTooling() {
    if (Module._load.istioCanaryDeferred) {
        return;
    }
    const load = Module._load;
    const deferring = function (request, parent, isMain) {
        if (DEFERRED.has(request) && parent && PULUMI_SDK_FILE.test(parent.filename)) {
            Module._resolveFilename(request, parent, isMain); // throws as require would when it is not there
            return deferredExports(() => load.call(this, request, parent, isMain));
        }
        return load.apply(this, arguments);
    };
    deferring.istioCanaryDeferred = true;
    Module._load = deferring;
}

module.exports = { deferSdkTooling, deferredExports, DEFERRED };

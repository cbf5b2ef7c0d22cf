// Preloaded (`node --require`) by the processes of this project that run its TypeScript: the program of every
// `pulumi up` (Pulumi.yaml's `nodeargs`), the release and promotion CLIs, the demo. Both of its parts cut start-up
// time, which every traffic shift and every rollback waits for:
//  - the `.ts` loader of stacks/program-loader.js (sucrase with a disk cache: no TypeScript compiler at run time);
//  - @pulumi/pulumi's function-serialization tooling loads on first use instead of at start. Its runtime requires
//    TypeScript's compiler and npm's arborist (with pacote, sigstore and the rest) when it loads, for
//    `pulumi.runtime.serializeFunction` (dynamic providers, serialized callbacks), which this project never calls:
//    about 0.7 s of CPU in each process (bench/startup.ts). Each stays a real require, made the first time one
//    of its properties is read, so a program that does serialize a function gets exactly what it would have.
"use strict";
const Module = require("module");

/** What @pulumi/pulumi requires at load only for function serialization. */
const DEFERRED = new Set(["typescript", "@npmcli/arborist"]);

/** A requiring module inside @pulumi/pulumi (the only requests deferred: anyone else gets the module at once). */
const PULUMI_SDK_FILE = /[\\/]node_modules[\\/]@pulumi[\\/]pulumi[\\/]/;

/**
 * A stand-in for a module's exports that requires the module the first time anything is read from it. It says
 * `__esModule`, so TypeScript's `__importStar` hands it on as it is instead of copying (reading) every export.
 */
function deferredExports(load) {
    let exports;
    const real = () => (exports ??= load());
    return new Proxy(
        {},
        {
            get: (_, key) => (key === "__esModule" ? true : real()[key]),
            has: (_, key) => key in real(),
            ownKeys: () => Reflect.ownKeys(real()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(real(), key);
                return d === undefined ? undefined : { ...d, configurable: true };
            },
        },
    );
}

/** Installs the deferral (once per process). */
function deferSdkTooling() {
    if (Module._load.istioCanaryDeferred) {
        return;
    }
    const load = Module._load;
    const deferring = function (request, parent, isMain) {
        if (DEFERRED.has(request) && parent !== undefined && parent !== null && PULUMI_SDK_FILE.test(parent.filename)) {
            return deferredExports(() => load.call(this, request, parent, isMain));
        }
        return load.apply(this, arguments);
    };
    deferring.istioCanaryDeferred = true;
    Module._load = deferring;
}

deferSdkTooling();
require("./program-loader.js").register();

module.exports = { deferSdkTooling, deferredExports, DEFERRED };

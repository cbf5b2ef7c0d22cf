// Preloaded (`node --require`) by the processes of this project that run its TypeScript: the program of every
// `pulumi up` (Pulumi.yaml's `nodeargs`), the release and promotion CLIs, the demo. Both of its parts cut start-up
// time, which every traffic shift and every rollback waits for:
//  - the `.ts` loader of stacks/program-loader.js (sucrase with a disk cache: no TypeScript compiler at run time);
//  - @pulumi/pulumi's function-serialization tooling (TypeScript's compiler, npm's arborist) loaded on first use
//    instead of at start (stacks/sdk-deferral.js): about 0.6 s of CPU less per process (`npm run bench:startup`).
"use strict";
require("./sdk-deferral.js").deferSdkTooling();
require("./program-loader.js").register();

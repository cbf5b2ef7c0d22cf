// The program `pulumi up` runs (Pulumi.yaml `main`): index.ts, transpiled on load by sucrase with a disk cache
// (stacks/program-loader.js): no type checking (CI type-checks every file with `npm run lint`) and nothing to build.
// Each update skips the TypeScript compiler, and one whose program did not change skips sucrase too (bench/shift.ts).
require("./stacks/program-loader.js").register();
module.exports = require("./index.ts");

// The program `pulumi up` runs (Pulumi.yaml `main`): index.ts, compiled on load by sucrase (pure JavaScript, no
// type checking, nothing to build). CI type-checks every file (`npm run lint`); here each update skips the
// TypeScript compiler and starts about twice as fast (bench/shift.ts).
require("sucrase/register/ts");
module.exports = require("./index.ts");

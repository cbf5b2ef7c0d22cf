/**
 * The component package's TypeScript entry point: what `pulumi package add/get-schema <repo>` infers the schema
 * from (package.json `main` is components/package.js, whose .ts sibling this is). Only the components: the
 * repository's index.ts is the program and must not run when the package is loaded.
 */
export * from "./index";

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { scratchWorkspace } from "../../../stacks/automation/local-stack";

describe("scratchWorkspace", () => {
    const root = path.resolve(__dirname, "..", "..", "..");

    it("points main at the program, absolute, and copies the stack's config file", () => {
        const dir = scratchWorkspace(root, "dev");
        try {
            const project = yaml.load(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as Record<
                string,
                unknown
            >;
            assert.strictEqual(project.main, path.join(root, "main.js"));
            assert.strictEqual(project.name, "istio-canary");
            assert.strictEqual(
                fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8"),
                fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8"),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("is idempotent: a scratch copy of a scratch workspace still points at the program", () => {
        const first = scratchWorkspace(root, "dev");
        const second = scratchWorkspace(first, "dev");
        try {
            const project = yaml.load(fs.readFileSync(path.join(second, "Pulumi.yaml"), "utf8")) as Record<
                string,
                unknown
            >;
            assert.strictEqual(project.main, path.join(root, "main.js"));
        } finally {
            for (const d of [first, second]) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        }
    });

    it("the program's Pulumi.yaml names main.js (index.ts through sucrase) as main, not package.json's library", () => {
        const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
            main: string;
            runtime: { options: Record<string, unknown> };
        };
        assert.strictEqual(project.main, "main.js");
        assert.strictEqual(project.runtime.options.typescript, false);
        assert.match(
            fs.readFileSync(path.join(root, "main.js"), "utf8"),
            /require\("sucrase\/register\/ts"\);\nmodule.exports = require\("\.\/index.ts"\);/,
        );
    });
});

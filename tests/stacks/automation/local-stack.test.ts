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
            assert.strictEqual(project.main, path.join(root, "index.ts"));
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
            assert.strictEqual(project.main, path.join(root, "index.ts"));
        } finally {
            for (const d of [first, second]) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        }
    });

    it("the program's Pulumi.yaml names index.ts as main (package.json exports is the library)", () => {
        const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
        assert.strictEqual(project.main, "index.ts");
    });
});

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { absoluteNodeArgs, changesOf, driftOf, scratchWorkspace } from "../../../stacks/automation/local-stack";

describe("scratchWorkspace", () => {
    it("absoluteNodeArgs makes ./ and ../ paths absolute (also after --flag=), keeps the rest, and never a path with whitespace", () => {
        assert.strictEqual(
            absoluteNodeArgs("  --require ./a.js  -r ../b.js --max-old-space-size=512 /c.js ", "/p/q"),
            "--require /p/q/a.js -r /p/b.js --max-old-space-size=512 /c.js",
        );
        assert.strictEqual(
            absoluteNodeArgs("--require=./a.js --import=../b.mjs", "/p/q"),
            "--require=/p/q/a.js --import=/p/b.mjs",
        );
        assert.strictEqual(absoluteNodeArgs("-r ./a.js", "/my project"), "-r ./a.js", "no path with whitespace");
        assert.strictEqual(absoluteNodeArgs("", "/p"), "");
    });

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
            const runtime = project.runtime as { options: { nodeargs: string } };
            assert.strictEqual(runtime.options.nodeargs, `--require ${path.join(root, "stacks", "preload.js")}`);
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
            const runtime = project.runtime as { options: { nodeargs: string } };
            assert.strictEqual(runtime.options.nodeargs, `--require ${path.join(root, "stacks", "preload.js")}`);
        } finally {
            for (const d of [first, second]) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        }
    });

    it("the program's Pulumi.yaml names main.js (index.ts through the cached sucrase loader) as main, not package.json's library", () => {
        const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
            main: string;
            runtime: { options: Record<string, unknown> };
        };
        assert.strictEqual(project.main, "main.js");
        assert.strictEqual(project.runtime.options.typescript, false);
        assert.match(
            fs.readFileSync(path.join(root, "main.js"), "utf8"),
            /require\("\.\/stacks\/program-loader\.js"\)\.register\(\);\nmodule.exports = require\("\.\/index.ts"\);/,
        );
    });
});

describe("engine events -> resource changes (shapes as the engine sends them, recorded on the local cluster)", () => {
    const VS = "kubernetes:networking.istio.io/v1:VirtualService";
    const urn = `urn:pulumi:s::istio-canary::istio-canary:index:CanaryRelease$${VS}::shop-vs`;
    const meta = (op: string, type: string, detailedDiff?: Record<string, unknown>) =>
        ({ op, urn: type === VS ? urn : `urn:x::${type}`, type, provider: "", detailedDiff }) as never;

    it("a preview's changes: every step but same, read and the stack itself, with the paths that change", () => {
        const events: EngineEvent[] = [
            { sequence: 1, timestamp: 0, resourcePreEvent: { metadata: meta("same", "pulumi:pulumi:Stack") } },
            {
                sequence: 2,
                timestamp: 0,
                resourcePreEvent: { metadata: meta("same", "kubernetes:apps/v1:Deployment") },
            },
            {
                sequence: 3,
                timestamp: 0,
                resourcePreEvent: {
                    metadata: meta("update", VS, { "spec.http[0].route[0].weight": { kind: "update" } }),
                },
            },
        ];
        assert.deepStrictEqual(changesOf(events), [
            { urn, type: VS, op: "update", paths: ["spec.http[0].route[0].weight"] },
        ]);
    });

    it("reads of live objects change nothing: read, read-replacement and discard (a read dropped) are no changes", () => {
        const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
        const events: EngineEvent[] = ["read", "read-replacement", "discard", "delete"].map((op, i) => ({
            sequence: i,
            timestamp: 0,
            resourcePreEvent: {
                metadata: { op, urn: `urn:x::shop-${op}`, type: DEPLOYMENT, provider: "" } as never,
            },
        }));
        assert.deepStrictEqual(changesOf(events), [
            { urn: "urn:x::shop-delete", type: DEPLOYMENT, op: "delete", paths: [] },
        ]);
        const outputs: EngineEvent[] = events.map((e) => ({ ...e, resOutputsEvent: e.resourcePreEvent }));
        assert.deepStrictEqual(
            driftOf(outputs).map((c) => c.urn),
            ["urn:x::shop-delete"],
        );
    });

    it("a refresh preview's drift: the outputs events whose op is not refresh or same", () => {
        const events: EngineEvent[] = [
            { sequence: 1, timestamp: 0, resourcePreEvent: { metadata: meta("refresh", VS) } },
            {
                sequence: 2,
                timestamp: 0,
                resOutputsEvent: { metadata: meta("refresh", "kubernetes:apps/v1:Deployment") },
            },
            {
                sequence: 3,
                timestamp: 0,
                resOutputsEvent: {
                    metadata: meta("update", VS, {
                        "spec.http[0].route[0].weight": { kind: "update" },
                        "spec.http[0].route[1].weight": { kind: "update" },
                    }),
                },
            },
        ];
        assert.deepStrictEqual(driftOf(events), [
            {
                urn,
                type: VS,
                op: "update",
                paths: ["spec.http[0].route[0].weight", "spec.http[0].route[1].weight"],
            },
        ]);
        assert.deepStrictEqual(driftOf(events.slice(0, 2)), []);
    });
});

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { configKeySpecs } from "../config/program";
import { END, renderConfigReference, START, withReference } from "../config/reference";

const README = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

describe("README", () => {
    it("holds the config reference generated from the declarations (run npm run docs:config)", () => {
        assert.strictEqual(README, withReference(README));
    });

    it("documents every config key with what it accepts and its default", () => {
        const section = README.slice(README.indexOf(START), README.indexOf(END));
        for (const spec of configKeySpecs()) {
            assert.ok(section.includes(`| \`${spec.key}\``), spec.key);
        }
        assert.ok(renderConfigReference().includes("| `canaryWeight` | an integer from 0 to 100 | `0` |"));
    });

    it("shows the Go walk-through's program as examples/go/main.go holds it (the program e2e 13 runs)", () => {
        const program = fs.readFileSync(path.join(__dirname, "..", "examples", "go", "main.go"), "utf8");
        assert.ok(
            README.includes("```go\n" + program + "```\n"),
            "README's Go program differs from examples/go/main.go",
        );
    });

    it("names the npm scripts it tells users to run, and they exist", () => {
        const scripts = Object.keys(
            (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { scripts: object })
                .scripts,
        );
        for (const m of README.matchAll(/npm run ([a-z0-9:-]+)/g)) {
            assert.ok(scripts.includes(m[1]), `npm run ${m[1]}`);
        }
    });

    /** The rows of the table whose header starts with `header`, each proved by tests that must exist. */
    function assertProofs(header: string, minRows: number): void {
        const table = README.slice(README.indexOf(header));
        const rows = table.slice(0, table.indexOf("\n\n")).split("\n").slice(2);
        assert.ok(rows.length >= minRows, `rows of the table "${header}": ${rows.length}`);
        const root = path.join(__dirname, "..");
        const fileOf = (ref: string): string => {
            const e2e = /^e2e (\d\d)$/.exec(ref);
            if (e2e) {
                const dir = path.join(root, "tests", "e2e");
                const found = fs.readdirSync(dir).find((f) => f.startsWith(`${e2e[1]}-`) && f.endsWith(".test.ts"));
                assert.ok(found, `no tests/e2e/${e2e[1]}-*.test.ts`);
                return path.join(dir, found);
            }
            const [dir, name] = ref.includes("/") ? ref.split("/") : ["release", ref];
            const top = ["config", "components", "policies", "mesh"].includes(dir);
            return path.join(root, "tests", top ? "" : "stacks", dir, `${name}.test.ts`);
        };
        for (const row of rows) {
            const proof = row.split(" | ").at(-1)!;
            const refs = [...proof.matchAll(/(e2e \d\d|[a-z-]+(?:\/[a-z-]+)?)(?::((?: "[^"]+",?)+))?(?:;|\s*\|$)/g)];
            assert.ok(refs.length > 0, `no test named for: ${row.slice(0, 60)}`);
            for (const [, ref, titles] of refs) {
                const source = fs.readFileSync(fileOf(ref), "utf8");
                for (const [, title] of (titles ?? "").matchAll(/"([^"]+)"/g)) {
                    const pattern = title
                        .split("...")
                        .map((p) => p.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
                        .join("[^\\n]*");
                    assert.match(source, new RegExp(`it\\([\`"][^\\n]*${pattern}`), `${ref}: "${title}"`);
                }
            }
        }
    }

    it("names, for each of the release bot's guarantees, tests that exist", () => {
        assertProofs("| situation | what the bot does | proved by", 15);
    });

    it("names, for each part the pods and the mesh carry, tests that exist", () => {
        assertProofs("| part | what it is | key (argument) | proved by |", 9);
    });
});

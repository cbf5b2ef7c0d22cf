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

    it("names the npm scripts it tells users to run, and they exist", () => {
        const scripts = Object.keys(
            (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { scripts: object })
                .scripts,
        );
        for (const m of README.matchAll(/npm run ([a-z0-9:-]+)/g)) {
            assert.ok(scripts.includes(m[1]), `npm run ${m[1]}`);
        }
    });
});

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { CRASH_EXIT_CODE } from "../../../stacks/cli/args";
import { EXIT_CODES } from "../../../stacks/release/result";

describe("runMain", () => {
    it("exits with the crash code, distinct from every outcome, and prints the error", () => {
        const script = path.join(__dirname, "..", "..", "fixtures", "crashing-cli.ts");
        const preload = path.join(__dirname, "..", "..", "..", "stacks", "preload.js"); // as package.json runs the tools
        const r = spawnSync(process.execPath, ["-r", preload, script], { encoding: "utf8" });
        assert.strictEqual(r.status, 5);
        assert.strictEqual(CRASH_EXIT_CODE, 5);
        assert.match(r.stderr, /^error: Error: the bot itself failed/);
        const others = Object.entries(EXIT_CODES).filter(([name]) => name !== "crash");
        assert.ok(!others.some(([, code]) => code === CRASH_EXIT_CODE), "no outcome shares the crash code");
    });
});

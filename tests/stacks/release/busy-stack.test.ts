import * as assert from "assert";
import { FakeStack } from "../fakes";
import { releaseBench, stackConfig, V2 } from "./bench";

describe("release bot: a new release on a busy stack names what the stack is doing", function () {
    this.timeout(20000);
    const b = releaseBench();
    const cases: [string, Record<string, string>, string][] = [
        ["waiting at a gate", { releaseStatus: "awaiting-approval", releaseGate: "100" }, "waiting for approval"],
        ["rolling back", { releaseStatus: "rolling-back" }, "rolling back"],
    ];
    for (const [what, state, words] of cases) {
        it(`refuses while a release is ${what}, and changes nothing`, async () => {
            const busy = new FakeStack(
                stackConfig({
                    ...state,
                    releaseVersion: "v2",
                    releaseImage: V2,
                    canaryImage: V2,
                    canaryVersion: "v2",
                    canaryWeight: "50",
                }),
            );
            const before = { ...busy.config };
            await assert.rejects(b.run(busy, { image: "registry.example.test/shop:3.0.0" }), {
                name: "PreflightError",
                message:
                    `a release is already ${words} on stack dev: v2 at canaryWeight 50. ` +
                    "Resume it with --resume (only if no other bot is running it).",
            });
            assert.deepStrictEqual(busy.config, before);
            assert.deepStrictEqual(busy.ups, []);
        });
    }
});

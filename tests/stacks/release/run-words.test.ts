/**
 * What the run says (wording.ts, run.ts): the story's resume and abort events, the line each event prints, the
 * commands it gives a person after a lock or a rollback that failed.
 */
import * as assert from "assert";
import { FakeStack, healthy, locked } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

describe("release bot: its words for people (fake stack, clock and metrics)", function () {
    this.timeout(20000);
    const b = memoryBench();

    it("a resumed release says so first; an --abort at a gate says who, when and where the release was", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        const resumed = await b.bot(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "awaiting-approval");
        assert.strictEqual(resumed.events[0].message, `resuming v2 (${V2}) from the deployed state`);
        const aborted = await b.bot(stack, { resume: true, decision: { kind: "abort", by: "carol" } });
        assert.strictEqual(
            aborted.events[0].message,
            `aborted by carol at ${aborted.events[0].time} (release awaiting-approval)`,
        );
    });

    it("each event prints one line: time, phase ('-' for none), weight, message", async () => {
        const stack = new FakeStack(stackConfig({ stableImage: V2, stableVersion: "v2" }));
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "no-op");
        assert.deepStrictEqual(b.lines, [
            `${r.events[0].time}  -      weight   0  stack dev already runs v2 (${V2}); nothing to do`,
        ]);
    });

    it("a pause at a lock says to wait for the other update, or to cancel a killed one's lock", async () => {
        const stack = new FakeStack(stackConfig());
        stack.failUp = () => locked();
        const r = await b.bot(stack);
        assert.deepStrictEqual(r.manualSteps, [
            "wait for the other update, then: npm run release -- --stack dev --resume",
            "if no update is running (one was killed), release its lock: pulumi cancel --stack dev --yes",
        ]);
    });

    it("a failed rollback by full update gives the full update to run by hand", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = new FakeStack(stackConfig());
        stack.failUp = (c) => (c.releaseStatus === "rolling-back" ? new Error("connection refused") : undefined);
        const r = await b.bot(stack, { image: V2, version: "v2", targetedRollback: false });
        assert.strictEqual(r.outcome, "rollback-failed");
        assert.strictEqual(r.manualSteps?.at(-2), "pulumi up --stack dev --yes");
    });
});

/**
 * The release loop's less travelled paths (run.ts): an abort of a rollback in progress, a final write resumed
 * (and failing), a stray gate, a completion gate after a rollback, the guard of an approval and of later stages.
 */
import * as assert from "assert";
import { DEPLOYMENT, VIRTUAL_SERVICE } from "../../../stacks/release/guard";
import { FakeStack, healthy, locked, VS_URN } from "../fakes";
import { HookServer } from "./hook-server";
import { memoryBench, stackConfig, V2 } from "./bench";

const FAILED = "1 failed analyses (threshold 1) at steps 10: success-rate=50% (min 99) fail: below the minimum 99";

describe("release loop: aborts, resumed final writes, stray gates and guards (fake stack, clock and metrics)", function () {
    this.timeout(30000);
    const b = memoryBench();
    const abort = { kind: "abort" as const, by: "carol" };
    const approve = (by: string) => ({ resume: true, decision: { kind: "approve" as const, by } });

    /** A release killed right after the config write that sets releaseStatus to `status`, before its update. */
    async function killedAt(status: string, extra: Record<string, string> = {}): Promise<FakeStack> {
        const stack = new FakeStack(stackConfig({ releaseFailureThreshold: "1", ...extra }));
        stack.onWrite = (_n, changes) => (changes.releaseStatus === status ? stack.kill() : undefined);
        await b.bot(stack, { image: V2, version: "v2" }).catch(() => undefined);
        stack.revive();
        assert.strictEqual(stack.config.releaseStatus, status);
        return stack;
    }

    /** A release killed in its first wait at canaryWeight 10 (after the shift, before the analysis). */
    async function killedInStep10(): Promise<FakeStack> {
        const stack = new FakeStack(stackConfig());
        b.clock.onSleep = () => {
            if (stack.config.canaryWeight === "10") {
                throw new Error("killed");
            }
        };
        await assert.rejects(b.bot(stack), /killed/);
        b.clock.onSleep = undefined;
        return stack;
    }

    it("a release that ends with no hooks has no hooks in its result", async () => {
        const r = await b.bot(new FakeStack(stackConfig()));
        assert.strictEqual(r.outcome, "completed");
        assert.strictEqual("hooks" in r, false);
    });

    it("--abort of a rollback in progress finishes it with the rollback's own reason and cause", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = await killedAt("rolling-back");
        const r = await b.bot(stack, { resume: true, configFrom: "checkout", decision: abort });
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.cause, "unhealthy");
        assert.strictEqual(r.reason, FAILED);
        assert.deepStrictEqual(
            r.events.filter((e) => e.kind === "gate").map((e) => e.message),
            [`aborted by carol at ${b.clock.now().toISOString()} (release rolling-back)`],
        );
        assert.strictEqual(stack.deployed!.releaseStatus, "rolled-back");
    });

    it("a rollback resumed with no recorded reason (nor cause) says it was resumed", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = await killedAt("rolling-back");
        delete stack.config.releaseMessage;
        delete stack.config.releaseCause;
        const r = await b.bot(stack, { resume: true, configFrom: "checkout" });
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.reason, "rollback resumed");
        assert.strictEqual(r.cause, "update-failed");
        assert.strictEqual(r.events[0].message, "resuming the rollback of v2: ");
    });

    it("resuming a completion never deployed deploys it, reports it, and says 'completed' when no message is left", async () => {
        const stack = await killedAt("completed");
        delete stack.config.releaseMessage;
        const r = await b.bot(stack, { resume: true, configFrom: "checkout" });
        assert.strictEqual(r.outcome, "completed");
        assert.strictEqual(r.reason, "completed");
        assert.ok(r.events.some((e) => e.kind === "resume" && e.message === "applying the recorded completed of v2"));
        assert.strictEqual(stack.ups.at(-1)!.message, "release v2: resume: completed");
        assert.strictEqual(stack.deployed!.releaseStatus, "completed");
    });

    it("resuming a rollback never deployed reports the rollback's cause; with no message, 'rolled back'", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = await killedAt("rolled-back");
        const r = await b.bot(stack, { resume: true, configFrom: "checkout" });
        assert.deepStrictEqual([r.outcome, r.cause], ["rolled-back", "unhealthy"]);
        assert.strictEqual(r.reason, FAILED);
        const bare = await killedAt("rolled-back");
        delete bare.config.releaseMessage;
        delete bare.config.releaseCause;
        const r2 = await b.bot(bare, { resume: true, configFrom: "checkout" });
        assert.deepStrictEqual([r2.outcome, r2.reason, r2.cause], ["rolled-back", "rolled back", "update-failed"]);
    });

    it("a recorded completion whose update fails pauses, saying where; a locked stack pauses as locked", async () => {
        const failing = await killedAt("completed");
        failing.failUp = () => new Error("provider crashed\nstack trace");
        const r = await b.bot(failing, { resume: true, configFrom: "checkout" });
        assert.deepStrictEqual(
            [r.outcome, r.reason, r.trafficMoved],
            ["paused", "pulumi up failed while applying the recorded completed: provider crashed", false],
        );
        const lockedStack = await killedAt("completed");
        lockedStack.failUp = () => locked();
        const l = await b.bot(lockedStack, { resume: true, configFrom: "checkout" });
        assert.strictEqual(l.outcome, "paused");
        assert.strictEqual(
            l.reason,
            "stack locked by another update while applying the recorded completed: the stack is currently locked by 1 lock(s)",
        );
    });

    it("a gate left in the config of a release in progress is ignored: the release resumes where it is", async () => {
        const stack = await killedInStep10();
        stack.config.releaseGate = "50";
        stack.deployed!.releaseGate = "50";
        const ups = stack.ups.length;
        const r = await b.bot(stack, { resume: true });
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.deepStrictEqual(stack.weights().slice(ups, ups + 4), [10, 25, 50, 100]);
    });

    it("a canary that fails with a gate before completion rolls back; it does not wait at the gate", async () => {
        b.metrics.answer = healthy(50, 10);
        const stack = new FakeStack(stackConfig({ releaseGates: "complete" }));
        const r = await b.bot(stack);
        assert.deepStrictEqual([r.outcome, r.cause], ["rolled-back", "unhealthy"]);
        assert.strictEqual(stack.config.releaseGate, undefined);
    });

    it("an approval is one guarded update named in the history; a lock on it pauses at the gate", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        stack.failUp = (c) => (c.releaseApprovals !== undefined ? locked() : undefined);
        const l = await b.bot(stack, approve("alice"));
        assert.strictEqual(l.outcome, "paused");
        assert.strictEqual(
            l.reason,
            "stack locked by another update approving the gate before step 50: the stack is currently locked by 1 lock(s)",
        );
        stack.failUp = undefined;
        const ups = stack.ups.length;
        const r = await b.bot(stack, approve("bob"));
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(stack.ups[ups].message, "release v2: gate 50 approved by bob");
        assert.notStrictEqual(stack.ups[ups].plan, undefined, "applied from a previewed plan");
    });

    it("a resumed release guards only its first stage as a start: a later stage may not change a Deployment", async () => {
        const stack = await killedInStep10();
        const vs = { urn: VS_URN, type: VIRTUAL_SERVICE, op: "update" as const, paths: ["spec.http"] };
        const image = {
            urn: "urn:pulumi:dev::app::kubernetes:apps/v1:Deployment::shop-stable",
            type: DEPLOYMENT,
            op: "update" as const,
            paths: ["spec.template.spec.containers[0].image"],
        };
        stack.previewChanges = (c) => (c.canaryWeight === "25" ? [vs, image] : [vs]);
        const r = await b.bot(stack, { resume: true });
        assert.strictEqual(r.outcome, "paused");
        assert.strictEqual(
            r.reason,
            "at steps 25: the preview shows changes this step may not make: update Deployment shop-stable " +
                "(spec.template.spec.containers[0].image); nothing was applied",
        );
    });

    describe("pre-rollout hooks (hook server on 127.0.0.1)", () => {
        let server: HookServer;
        let url: string;
        beforeEach(async () => {
            server = new HookServer();
            url = await server.start();
        });
        afterEach(() => server.stop());

        it("a completion resumed with no stage left and no traffic moved runs no pre-rollout hook", async () => {
            const hooks = JSON.stringify([{ name: "smoke", type: "pre-rollout", url: `${url}/smoke`, timeout: "2s" }]);
            const stack = await killedAt("completed", { releaseHooks: hooks });
            const calls = server.to("/smoke").length;
            assert.strictEqual(stack.deployed!.canaryWeight, "0");
            assert.strictEqual(stack.deployed!.releasePhase, "complete");
            const r = await b.bot(stack, { resume: true, configFrom: "deployed" });
            assert.strictEqual(r.outcome, "completed", r.reason);
            assert.strictEqual(server.to("/smoke").length, calls);
        });
    });
});

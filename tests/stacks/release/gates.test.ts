import * as assert from "assert";
import { Approval } from "../../../config/release-state";
import { decideForWaitingBot } from "../../../stacks/release/decisions";
import { exitCode, EXIT_CODES, ReleaseResult } from "../../../stacks/release/result";
import { FakeStack } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

const approvalsOf = (stack: FakeStack): Approval[] => JSON.parse(stack.config.releaseApprovals ?? "[]") as Approval[];

describe("release bot: manual gates (fake stack and clock)", function () {
    this.timeout(20000);
    const b = memoryBench();
    const approve = (by = "alice", gate?: string) => ({
        resume: true,
        decision: { kind: "approve" as const, by, ...(gate ? { gate } : {}) },
    });

    it("stops at a gate before step 50 with the paused code, the state recorded by an update, traffic where it is", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "awaiting-approval");
        assert.strictEqual(exitCode(r), EXIT_CODES["awaiting-approval"]);
        assert.strictEqual(exitCode(r), 10);
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 25]);
        const last = stack.ups.at(-1)!.config;
        assert.strictEqual(last.releaseStatus, "awaiting-approval", "recorded by an update: in stack history");
        assert.strictEqual(last.releaseGate, "50");
        assert.strictEqual(stack.deployed!.releaseStatus, "awaiting-approval");
        assert.strictEqual(stack.config.releaseOwner, undefined, "the lease is let go: any process may decide");
        assert.deepStrictEqual(r.manualSteps, [
            `npm run release -- --stack dev --approve --version v2 --gate 50 --image ${V2}   # approve and continue`,
            "npm run release -- --stack dev --abort --version v2   # roll back",
        ]);
        assert.ok(b.lines.some((l) => l.includes("awaiting approval before step 50: npm run release -- --stack dev")));
    });

    it("--approve continues from the gate to completion, recording who and when in state and result", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        const upsBefore = stack.ups.length;
        const r = await b.bot(stack, approve("alice", "50"));
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(exitCode(r), 0);
        // The decision and the passed gate: one update; then the steps from the gate on; then completion.
        assert.strictEqual(stack.ups[upsBefore].config.releaseStatus, "in-progress");
        assert.strictEqual(stack.ups[upsBefore].config.releaseGate, undefined);
        assert.deepStrictEqual(stack.weights().slice(upsBefore), [25, 50, 100, 100, 0, 0]);
        const decisions = approvalsOf(stack);
        assert.strictEqual(decisions.length, 1);
        assert.deepStrictEqual(
            { ...decisions[0], at: "-" },
            { gate: "50", version: "v2", image: V2, decision: "approve", by: "alice", at: "-" },
        );
        assert.match(decisions[0].at, /^2026-11-30T10:\d\d:\d\d\.\d{3}Z$/);
        assert.deepStrictEqual(r.approvals, decisions, "the result (and so the report) carries the audit trail");
        assert.strictEqual(stack.config.stableVersion, "v2");
    });

    it("a gate before completion waits after the last step; approving it completes without another analysis", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "25,complete" }));
        let r = await b.bot(stack);
        assert.strictEqual(stack.config.releaseGate, "25");
        r = await b.bot(stack, approve("alice"));
        assert.strictEqual(r.outcome, "awaiting-approval");
        assert.strictEqual(stack.config.releaseGate, "complete");
        assert.strictEqual(stack.config.canaryWeight, "100");
        assert.match(r.reason, /^release v2 waits for approval before completion$/);
        r = await b.bot(stack, approve("bob", "complete"));
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(r.events.filter((e) => e.kind === "analysis").length, 0);
        assert.deepStrictEqual(
            approvalsOf(stack).map((a) => [a.gate, a.by]),
            [
                ["25", "alice"],
                ["complete", "bob"],
            ],
        );
    });

    it("--abort rolls back from a gate (exit 11) and from a release in progress", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        const r = await b.bot(stack, { resume: true, decision: { kind: "abort", by: "carol" } });
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.cause, "aborted");
        assert.strictEqual(exitCode(r), 11);
        assert.match(r.reason, /^aborted by carol at 2026-11-30T/);
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        assert.strictEqual(stack.config.canaryWeight, "0");
        assert.strictEqual(stack.config.stableVersion, "v1");

        const running = new FakeStack(stackConfig());
        b.clock.onSleep = () => {
            if (running.config.canaryWeight === "25") {
                throw new Error("killed");
            }
        };
        await assert.rejects(b.bot(running), /killed/);
        b.clock.onSleep = undefined;
        const aborted = await b.bot(running, { resume: true, decision: { kind: "abort", by: "carol" } });
        assert.strictEqual(aborted.outcome, "rolled-back");
        assert.strictEqual(running.config.canaryWeight, "0");
    });

    it("refuses a decision that is not for the gate waiting, changing nothing: wrong stack, moved on, other version", async () => {
        const idle = new FakeStack(stackConfig());
        await assert.rejects(b.bot(idle, approve()), {
            name: "PreflightError",
            message: 'stack dev has no release waiting for approval (releaseStatus is "idle"): wrong stack?',
        });
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack);
        const before = { ...stack.config };
        const ups = stack.ups.length;
        await assert.rejects(b.bot(stack, { ...approve("alice", "25") }), {
            message: `stack dev waits at gate 50 (before step 50) for v2 (image ${V2}); --approve --gate 25 does not match: it moved on`,
        });
        await assert.rejects(b.bot(stack, { ...approve(), version: "v3" }), {
            message: `stack dev waits at gate 50 (before step 50) for v2 (image ${V2}); --approve --version v3 does not match: a decision is for one version`,
        });
        assert.deepStrictEqual(stack.config, before);
        assert.strictEqual(stack.ups.length, ups);
        // Once approved and gone on, a second approval of the same gate is refused as moved on.
        const killedAt100 = () => {
            if (stack.config.canaryWeight === "100") {
                throw new Error("killed");
            }
        };
        b.clock.onSleep = killedAt100;
        await assert.rejects(b.bot(stack, approve("alice", "50")), /killed/);
        b.clock.onSleep = undefined;
        await assert.rejects(b.bot(stack, approve("alice", "50")), {
            message:
                "the release of v2 on stack dev is not waiting for approval (it is in-progress, steps): it moved on",
        });
    });

    it("--wait-for-approval: the bot waits at the gate and goes on when another process approves", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        let decided: Promise<ReleaseResult | undefined> | undefined;
        b.clock.onSleep = () => {
            if (stack.deployed?.releaseStatus === "awaiting-approval" && decided === undefined) {
                decided = decideForWaitingBot(approve("dave", "50"), { stack, clock: b.clock, log: () => undefined });
            }
        };
        const r = await b.bot(stack, { image: V2, version: "v2", waitForApprovalMs: 600_000 });
        const d = await decided!;
        assert.strictEqual(d?.outcome, "decision-recorded");
        assert.strictEqual(exitCode(d), 0);
        assert.match(
            d.reason,
            /^approve at the gate before step 50 of v2 recorded \(by dave\); the bot waiting there \(.+\) continues the release$/,
        );
        assert.strictEqual(d.image, V2);
        assert.deepStrictEqual(
            d.approvals?.map((a) => [a.gate, a.version, a.decision, a.by]),
            [["50", "v2", "approve", "dave"]],
        );
        assert.ok(
            stack.ups.some((u) => u.message === "release v2: approve at the gate before step 50 by dave"),
            "the decision is an update named in the stack's history",
        );
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.deepStrictEqual(
            approvalsOf(stack).map((a) => [a.gate, a.by, a.decision]),
            [["50", "dave", "approve"]],
        );
        assert.ok(r.events.some((e) => e.kind === "gate" && /approve by dave/.test(e.message)));
    });

    it("--wait-for-approval with no decision stops at its limit, saying how long it waited", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        const t0 = b.clock.now().getTime();
        const r = await b.bot(stack, { image: V2, version: "v2", waitForApprovalMs: 60_000 });
        assert.strictEqual(r.outcome, "awaiting-approval");
        assert.strictEqual(
            r.reason,
            "release v2 waits for approval before step 50 (no decision within the 60 s it waited)",
        );
        assert.ok(b.clock.now().getTime() - t0 >= 60_000);
    });

    it("an abort recorded for a waiting bot rolls the release back", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        let decided: Promise<unknown> | undefined;
        b.clock.onSleep = () => {
            if (stack.deployed?.releaseStatus === "awaiting-approval" && decided === undefined) {
                decided = decideForWaitingBot(
                    { resume: true, decision: { kind: "abort", by: "erin" } },
                    { stack, clock: b.clock, log: () => undefined },
                );
            }
        };
        const r = await b.bot(stack, { image: V2, version: "v2", waitForApprovalMs: 600_000 });
        const d = (await decided) as ReleaseResult;
        assert.match(
            d.reason,
            /^abort at the gate before step 50 of v2 recorded \(by erin\); the bot waiting there \(.+\) rolls it back$/,
        );
        assert.strictEqual(r.outcome, "rolled-back");
        assert.strictEqual(r.cause, "aborted");
        assert.match(r.reason, /^aborted by erin at the gate before step 50$/);
        assert.strictEqual(stack.config.canaryWeight, "0");
    });

    it("a decision for another version is refused while the bot waits, and nothing is recorded", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        let refused: Promise<unknown> | undefined;
        b.clock.onSleep = () => {
            if (stack.deployed?.releaseStatus === "awaiting-approval" && refused === undefined) {
                refused = decideForWaitingBot(
                    { ...approve("dave", "50"), version: "v9" },
                    { stack, clock: b.clock, log: () => undefined },
                );
                refused.catch(() => undefined);
            }
        };
        const r = await b.bot(stack, { image: V2, version: "v2", waitForApprovalMs: 60_000 });
        assert.strictEqual(r.outcome, "awaiting-approval");
        await assert.rejects(refused!, { name: "PreflightError" });
        assert.deepStrictEqual(approvalsOf(stack), []);
    });

    it("a dry run previews a gate without stopping", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        const r = await b.bot(stack, { image: V2, version: "v2", dryRun: true });
        assert.ok(r.events.some((e) => e.message === "would wait for approval before step 50"));
        assert.notStrictEqual(r.outcome, "awaiting-approval");
    });
});

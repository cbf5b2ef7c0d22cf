/**
 * An approval at a gate is bound to what it approves: the version, the image and the gate, given on the command line
 * (`--approve --version --gate [--image]`), checked against the release waiting, and recorded with it. Issue 23: a
 * bare `--approve` (as the README's CI step was written) approved v5 after the v4 it was meant for had been aborted.
 */
import * as assert from "assert";
import { configChanges, Approval } from "../../../config/release-state";
import { decisionAtGate, transitions } from "../../../config/release-transitions";
import { releaseOptionsFromFlags } from "../../../stacks/cli/release";
import { decideForWaitingBot } from "../../../stacks/release/decisions";
import { FakeStack } from "../fakes";
import { approval, running } from "../../config/release-views";
import { memoryBench, stackConfig } from "./bench";

const V4 = "registry.example.test/shop:4.0.0";
const V5 = "registry.example.test/shop:5.0.0";
const V5_REBUILT = `registry.example.test/shop:5.0.0@sha256:${"ef".repeat(32)}`;

const approvalsOf = (stack: FakeStack): Approval[] => JSON.parse(stack.config.releaseApprovals ?? "[]") as Approval[];

describe("release bot: an approval is bound to the version, image and gate it approves (fake stack and clock)", function () {
    this.timeout(20000);
    const b = memoryBench();
    /** The release options `npm run release -- --stack dev <args>` runs with. */
    const cli = (...args: string[]) => releaseOptionsFromFlags(["--stack", "dev", "--by", "alice", ...args]);

    it("an approval meant for v4, after v4 was aborted and v5 waits at the same gate, is refused naming what waits", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        await b.bot(stack, { image: V4, version: "v4" });
        await b.bot(stack, cli("--abort"));
        assert.strictEqual(stack.config.releaseStatus, "rolled-back");
        const waiting = await b.bot(stack, { image: V5, version: "v5" });
        assert.strictEqual(waiting.outcome, "awaiting-approval");
        const before = { ...stack.config };
        const ups = stack.ups.length;

        // The approval the reviewer gave for v4, as the CI step now passes it.
        await assert.rejects(b.bot(stack, cli("--approve", "--version", "v4", "--gate", "50", "--image", V4)), {
            name: "PreflightError",
            message: `stack dev waits at gate 50 (before step 50) for v5 (image ${V5}); --approve --version v4 does not match: a decision is for one version`,
        });
        assert.deepStrictEqual(stack.config, before, "nothing was recorded");
        assert.strictEqual(stack.ups.length, ups, "nothing was applied");

        // The approval of what waits goes on, and records the version, image and gate it approved.
        const approved = await b.bot(stack, cli("--approve", "--version", "v5", "--gate", "50", "--image", V5));
        assert.strictEqual(approved.outcome, "completed", approved.reason);
        assert.deepStrictEqual(
            approvalsOf(stack).map(({ gate, version, image, decision, by }) => ({
                gate,
                version,
                image,
                decision,
                by,
            })),
            [{ gate: "50", version: "v5", image: V5, decision: "approve", by: "alice" }],
        );
    });

    it("an approval naming another image of the same version is refused; one naming no image records the waiting one", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "complete" }));
        await b.bot(stack, { image: V5, version: "v5" });
        const before = { ...stack.config };
        await assert.rejects(
            b.bot(stack, cli("--approve", "--version", "v5", "--gate", "complete", "--image", V5_REBUILT)),
            {
                name: "PreflightError",
                message: `stack dev waits at gate complete (before completion) for v5 (image ${V5}); --approve --image ${V5_REBUILT} does not match: a decision is for one image`,
            },
        );
        await assert.rejects(b.bot(stack, cli("--approve", "--version", "v5", "--gate", "50")), {
            message: `stack dev waits at gate complete (before completion) for v5 (image ${V5}); --approve --gate 50 does not match: it moved on`,
        });
        assert.deepStrictEqual(stack.config, before);
        const r = await b.bot(stack, cli("--approve", "--version", "v5", "--gate", "complete"));
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.strictEqual(approvalsOf(stack)[0].image, V5, "the approval records the image it let through");
    });

    it("for a bot waiting at the gate, an approval naming another image is refused and nothing is recorded", async () => {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        let refused: Promise<unknown> | undefined;
        let recorded: Promise<unknown> | undefined;
        b.clock.onSleep = () => {
            if (stack.deployed?.releaseStatus === "awaiting-approval" && refused === undefined) {
                const opts = cli("--approve", "--version", "v5", "--gate", "50", "--image", V5_REBUILT);
                refused = decideForWaitingBot(opts, { stack, clock: b.clock, log: () => undefined });
                refused.catch(() => undefined);
            } else if (refused !== undefined && recorded === undefined) {
                const opts = cli("--approve", "--version", "v5", "--gate", "50", "--image", V5);
                recorded = decideForWaitingBot(opts, { stack, clock: b.clock, log: () => undefined });
            }
        };
        const r = await b.bot(stack, { image: V5, version: "v5", waitForApprovalMs: 600_000 });
        await assert.rejects(refused!, {
            name: "PreflightError",
            message: `stack dev waits at gate 50 (before step 50) for v5 (image ${V5}); --approve --image ${V5_REBUILT} does not match: a decision is for one image`,
        });
        await recorded;
        assert.strictEqual(r.outcome, "completed", r.reason);
        assert.deepStrictEqual(
            approvalsOf(stack).map((a) => [a.version, a.image, a.by]),
            [["v5", V5, "alice"]],
            "only the approval of the image waiting was recorded",
        );
    });

    it("the protocol: a decision records the image; one for another image is neither recorded nor acted on", () => {
        const waiting = transitions.awaitApproval(running, "50");
        assert.throws(() => transitions.recordDecision(waiting, approval({ image: "r/app:2-rebuilt" })), {
            name: "DecisionMismatchError",
            message: "the release of v2 waiting for approval runs r/app:2, not r/app:2-rebuilt",
        });
        // Recorded by hand (or by a process that skipped the check), it still passes no gate.
        const forOther = { ...waiting, state: { ...waiting.state, approvals: [approval({ image: "r/app:9" })] } };
        assert.strictEqual(decisionAtGate(forOther), undefined);
        assert.throws(() => transitions.passGate(forOther), { message: "gate 50 of v2 is not approved" });
        const approved = transitions.recordDecision(waiting, approval({ image: "r/app:2" }));
        assert.deepStrictEqual(configChanges(waiting, transitions.passGate(approved)), {
            releaseStatus: "in-progress",
            releaseGate: undefined,
            releaseApprovals: JSON.stringify([approval({ image: "r/app:2" })]),
        });
    });
});

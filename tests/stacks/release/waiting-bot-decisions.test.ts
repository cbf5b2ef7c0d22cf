import * as assert from "assert";
import { decideForWaitingBot } from "../../../stacks/release/decisions";
import { ReleaseOptions } from "../../../stacks/release/context";
import { ReleaseResult } from "../../../stacks/release/result";
import { FakeStack } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

/** The lease of a bot that is alive and waits at the gate (it is none of the bench's bots). */
const WAITER = "waiting-bot";
const approve = (gate?: string): ReleaseOptions => ({
    resume: true,
    version: "v2",
    decision: { kind: "approve", by: "dave", ...(gate ? { gate } : {}) },
});

describe("decisions for a bot that waits at a gate: where its lease is, and a stack that moves meanwhile", function () {
    this.timeout(20000);
    const b = memoryBench();
    const me = { id: "deciding-process", isGone: () => false };
    const lease = () => ({
        releaseOwner: WAITER,
        releaseLeaseExpires: new Date(b.clock.now().getTime() + 3_600_000).toISOString(),
    });

    /** A release of v2 waiting at the gate before step 50; `where` says which config records the waiter's lease. */
    async function waiting(where: "local" | "deployed" | "both"): Promise<FakeStack> {
        const stack = new FakeStack(stackConfig({ releaseGates: "50" }));
        const r = await b.bot(stack);
        assert.strictEqual(r.outcome, "awaiting-approval");
        if (where !== "deployed") {
            Object.assign(stack.config, lease());
        }
        if (where !== "local") {
            Object.assign(stack.deployed!, lease());
        }
        return stack;
    }
    const decide = (stack: FakeStack, opts: ReleaseOptions = approve()) =>
        decideForWaitingBot(opts, { stack, clock: b.clock, identity: me, log: (l) => b.lines.push(l) });
    /** From the recording's own read of the stack on: `change` applied to the checkout and the deployed config. */
    function changeWhileRecording(stack: FakeStack, change: Record<string, string | undefined>) {
        const read = stack.getConfig.bind(stack);
        let reads = 0;
        stack.getConfig = () => {
            if (++reads === 2) {
                for (const values of [stack.config, stack.deployed!]) {
                    for (const [k, v] of Object.entries(change)) {
                        if (v === undefined) {
                            delete values[k];
                        } else {
                            values[k] = v;
                        }
                    }
                }
            }
            return read();
        };
    }

    for (const where of ["local", "deployed"] as const) {
        it(`a live bot's lease in the ${where} config alone is a bot waiting: the decision is recorded for it`, async () => {
            const stack = await waiting(where);
            const d = await decide(stack);
            assert.strictEqual(d?.outcome, "decision-recorded");
            assert.strictEqual(
                d.reason,
                `approve at the gate before step 50 of v2 recorded (by dave); the bot waiting there (${WAITER}) continues the release`,
            );
        });
    }

    it("a live bot that holds a release not at a gate is no bot waiting: nothing is decided here", async () => {
        const stack = new FakeStack(stackConfig({ releaseStatus: "in-progress", releaseVersion: "v2", ...lease() }));
        assert.strictEqual(await decide(stack), undefined);
        assert.strictEqual(stack.ups.length, 0);
    });

    it("runRelease hands a decision to the waiting bot; a run with no decision is refused by the lease", async () => {
        const stack = await waiting("both");
        const d = await b.bot(stack, approve("50"));
        assert.strictEqual(d.outcome, "decision-recorded");
        assert.deepStrictEqual(
            d.approvals?.map((a) => [a.gate, a.version, a.decision, a.by]),
            [["50", "v2", "approve", "dave"]],
        );
        await assert.rejects(b.bot(stack, { image: V2, version: "v2", resume: true }), { name: "PreflightError" });
    });

    it("a decision that does not fit is refused with its reason before the policy is read", async () => {
        const stack = await waiting("both");
        stack.config.releaseSteps = "ten";
        await assert.rejects(decide(stack, { ...approve(), version: "v3" }), {
            name: "PreflightError",
            message: `stack dev waits at gate 50 (before step 50) for v2 (image ${V2}); --approve --version v3 does not match: a decision is for one version`,
        });
    });

    it("a decision under an invalid release policy is refused, naming the stack and the problem", async () => {
        const stack = await waiting("both");
        stack.config.releaseSteps = "ten";
        const ups = stack.ups.length;
        await assert.rejects(decide(stack), {
            name: "PreflightError",
            message:
                "the release policy of dev is invalid:\nreleaseSteps must be a comma-separated list of increasing " +
                'integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "ten"',
        });
        assert.strictEqual(stack.ups.length, ups);
    });

    const moves: [string, Record<string, string | undefined>, ReleaseOptions, string][] = [
        [
            "the release went on",
            { releaseStatus: "in-progress", releaseGate: undefined },
            approve(),
            "the release of v2 on stack dev is not waiting for approval (it is in-progress, steps): it moved on",
        ],
        [
            "another version waits at the same gate",
            { releaseVersion: "v3" },
            approve(),
            `stack dev waits at gate 50 (before step 50) for v3 (image ${V2}); --approve --version v2 does not match: a decision is for one version`,
        ],
        [
            "the release waits at another gate",
            { releaseGate: "100" },
            approve(),
            "the gate changed while recording: 100",
        ],
        ["the gate was cleared", { releaseGate: undefined }, approve(), "the gate changed while recording: none"],
    ];
    for (const [what, change, opts, message] of moves) {
        it(`refuses to record when, read again for the recording, ${what}`, async () => {
            const stack = await waiting("both");
            const ups = stack.ups.length;
            changeWhileRecording(stack, change);
            await assert.rejects(decide(stack, opts), { name: "PreflightError", message });
            assert.strictEqual(stack.ups.length, ups);
        });
    }

    it("the result names the release's image, and is empty where none is recorded", async () => {
        const stack = await waiting("both");
        assert.strictEqual((await decide(stack))?.image, V2);
        const noImage = await waiting("both");
        delete noImage.config.releaseImage;
        delete noImage.deployed!.releaseImage;
        assert.strictEqual((await decide(noImage))?.image, "");
    });

    it("with no log given, the decision's line goes to standard output", async () => {
        const stack = await waiting("both");
        const written: string[] = [];
        const write = process.stdout.write.bind(process.stdout);
        let d: ReleaseResult | undefined;
        process.stdout.write = (chunk: string) => written.push(chunk) > 0;
        try {
            d = await decideForWaitingBot(approve(), { stack, clock: b.clock, identity: me });
        } finally {
            process.stdout.write = write;
        }
        assert.deepStrictEqual(written, [`${d!.reason}\n`]);
    });
});

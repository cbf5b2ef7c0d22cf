/**
 * Crashes and concurrency: a bot killed at every config write, two bots on one stack, a lease lost mid-release,
 * SIGTERM. The stack is in memory (its config, and the config of its last update: what is deployed).
 */
import * as assert from "assert";
import { ConfigSource } from "../../../stacks/release/origin";
import { runRelease } from "../../../stacks/release/run";
import { exitCode, ReleaseResult } from "../../../stacks/release/result";
import { FakeStack, healthy, locked } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

describe("release bot: kills, two bots, interrupts (fake stack, clock and metrics)", function () {
    this.timeout(60000);
    const m = memoryBench();
    const bot = (stack: FakeStack, opts: Parameters<typeof runRelease>[0], signal?: AbortSignal) =>
        m.bot(stack, opts, signal);

    /** --resume as a user would: picking the side the refusal message offers, when it offers one. */
    async function resume(stack: FakeStack, side: ConfigSource): Promise<ReleaseResult | Error> {
        try {
            return await bot(stack, { resume: true });
        } catch (e) {
            if (!/disagrees with what is deployed/.test((e as Error).message)) {
                return e as Error;
            }
            return bot(stack, { resume: true, configFrom: side }).catch((e2: Error) => e2);
        }
    }

    const deployed = (s: FakeStack) => s.deployed!;

    for (const scenario of ["healthy", "unhealthy at 25"] as const) {
        for (const side of ["checkout", "deployed"] as const) {
            it(`${scenario}: a kill after any config write, before its up, leaves a state --resume (${side}) finishes`, async () => {
                const answer = (s: FakeStack) => (q: string) =>
                    healthy(scenario === "healthy" || Number(s.config.canaryWeight) < 25 ? 100 : 50, 10)(q);
                const probe = new FakeStack(stackConfig({ releaseInterval: "5m" }));
                m.metrics.answer = answer(probe);
                await bot(probe, { image: V2, version: "v2" });
                const writes = probe.writes;
                assert.ok(writes >= 9, `a release writes config at least 9 times; got ${writes}`);
                for (let n = 0; n < writes; n++) {
                    const stack = new FakeStack(stackConfig({ releaseInterval: "5m" }));
                    m.metrics.answer = answer(stack);
                    stack.onWrite = (i) => (i === n ? stack.kill() : undefined);
                    await bot(stack, { image: V2, version: "v2" }).catch(() => undefined);
                    stack.revive();
                    const at = `killed after write ${n}`;
                    const result = await resume(stack, side);
                    if (result instanceof Error) {
                        // Only a release whose first update never ran has nothing to resume; nothing reached users.
                        assert.match(result.message, /^nothing to resume/, `${at}: ${result.message}`);
                        assert.strictEqual(deployed(stack).canaryWeight, "0", at);
                        assert.ok(
                            !["in-progress", "rolling-back"].includes(deployed(stack).releaseStatus ?? "idle"),
                            at,
                        );
                        continue;
                    }
                    const d = deployed(stack);
                    assert.strictEqual(d.canaryWeight, "0", `${at}: no traffic left on the canary`);
                    assert.strictEqual(d.canaryImage, undefined, `${at}: canary track retired`);
                    assert.strictEqual(d.releaseOwner, undefined, `${at}: lease let go`);
                    if (scenario === "healthy") {
                        assert.strictEqual(result.outcome, "completed", `${at}: ${result.reason}`);
                        assert.deepStrictEqual([d.releaseStatus, d.stableVersion], ["completed", "v2"], at);
                    } else {
                        assert.strictEqual(result.outcome, "rolled-back", `${at}: ${result.reason}`);
                        assert.deepStrictEqual([d.releaseStatus, d.stableVersion], ["rolled-back", "v1"], at);
                        assert.match(result.reason, /success-rate=50% \(min 99\) fail/, `${at}: names the check`);
                    }
                }
            });
        }
    }

    it("a kill during a rollback resumes the rollback (not refused while the canary has traffic)", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(50, 10);
        // Killed right after writing "rolling-back", before the routing update ran: the canary still has 10%.
        stack.onWrite = (_n, changes) => (changes.releaseStatus === "rolling-back" ? stack.kill() : undefined);
        await bot(stack, { image: V2, version: "v2" }).catch(() => undefined);
        stack.revive();
        assert.strictEqual(stack.config.releaseStatus, "rolling-back");
        assert.strictEqual(deployed(stack).canaryWeight, "10", "the canary still has traffic");
        const result = await bot(stack, { resume: true, configFrom: "checkout" });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(result.events[0].message.startsWith("resuming the rollback of v2: 1 failed analyses"), true);
        assert.strictEqual(exitCode(result), 1, "the original cause: the canary was unhealthy");
        assert.deepStrictEqual([deployed(stack).canaryWeight, deployed(stack).releaseStatus], ["0", "rolled-back"]);
    });

    it("two bots started together on one stack: one takes the lease, the other refuses and changes nothing", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(100, 10);
        const [a, b] = await Promise.allSettled([
            bot(stack, { image: V2, version: "v2" }),
            bot(stack, { image: V2, version: "v2" }),
        ]);
        const done = [a, b].filter((r) => r.status === "fulfilled");
        const refused = [a, b].filter((r): r is PromiseRejectedResult => r.status === "rejected");
        assert.strictEqual(done.length, 1);
        assert.strictEqual(refused.length, 1);
        assert.match(
            (refused[0].reason as Error).message,
            /^another release bot took the release lease of stack dev at the same time \(bot-\d\); nothing was started$/,
        );
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 50, 100, 100, 0, 0], "one release, not two interleaved");
    });

    it("two --resume runs: the second refuses while the first holds the lease", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(100, 10);
        m.clock.onSleep = () => {
            if (stack.config.canaryWeight === "25") {
                throw new Error("killed");
            }
        };
        await assert.rejects(bot(stack, { image: V2, version: "v2" }), /killed/);
        m.clock.onSleep = undefined;
        let second: Promise<ReleaseResult> | undefined;
        m.clock.onSleep = () => {
            // While the first resume waits at 25, a second one starts.
            if (second === undefined && stack.config.canaryWeight === "25" && stack.config.releaseOwner === "bot-2") {
                second = bot(stack, { resume: true });
            }
        };
        const first = await bot(stack, { resume: true });
        assert.strictEqual(first.outcome, "completed");
        await assert.rejects(second!, {
            name: "PreflightError",
            message: /^another release bot holds the release lease of stack dev \(bot-2, in stack config, until 2026-/,
        });
    });

    it("a lease still held by a live bot refuses; an expired one, or --take-over, is taken", async () => {
        m.metrics.answer = healthy(100, 10);
        const held = { releaseOwner: "other-host:42:abcd", releaseLeaseExpires: "2026-11-30T10:05:00Z" };
        const stack = new FakeStack(stackConfig(held));
        const before = { ...stack.config };
        await assert.rejects(bot(stack, { image: V2, version: "v2" }), {
            message:
                "another release bot holds the release lease of stack dev (other-host:42:abcd, in stack config, until " +
                "2026-11-30T10:05:00Z); wait for it to finish, or if it is gone, pass --take-over",
        });
        assert.deepStrictEqual(stack.config, before, "nothing changed");
        assert.strictEqual((await bot(stack, { image: V2, version: "v2", takeOver: true })).outcome, "completed");
        const expired = new FakeStack(stackConfig({ ...held, releaseLeaseExpires: "2026-11-30T09:59:59Z" }));
        assert.strictEqual((await bot(expired, { image: V2, version: "v2" })).outcome, "completed");
    });

    it("a bot that lost its lease mid-release stops and writes nothing more", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(100, 10);
        m.clock.onSleep = () => {
            if (stack.config.canaryWeight === "25" && stack.config.releaseOwner === "bot-1") {
                stack.config.releaseOwner = "someone-else"; // taken over with --take-over
            }
        };
        const writes = () => stack.writes;
        const result = await bot(stack, { image: V2, version: "v2" });
        assert.strictEqual(result.outcome, "paused");
        assert.match(result.reason, /^the release lease is no longer this bot's \(now held by someone-else\)/);
        assert.strictEqual(stack.config.releaseOwner, "someone-else");
        assert.strictEqual(stack.config.canaryWeight, "25");
        assert.strictEqual(writes(), stack.writes);
    });

    it("a paused bot never restores config that another bot wrote since", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(100, 10);
        stack.failUp = (c) => {
            if (c.canaryWeight === "25") {
                // While this bot's update waits on the lock, another bot takes over and writes its own state.
                stack.config.releaseOwner = "bot-other";
                stack.config.canaryWeight = "50";
                return locked();
            }
            return undefined;
        };
        const result = await bot(stack, { image: V2, version: "v2" });
        assert.strictEqual(result.outcome, "paused");
        assert.strictEqual(stack.config.canaryWeight, "50", "the other bot's weight stays");
        assert.strictEqual(stack.config.releaseOwner, "bot-other");
    });

    it("SIGTERM stops waiting, leaves the release resumable, and says interrupted (after traffic moved)", async () => {
        const stack = new FakeStack(stackConfig());
        m.metrics.answer = healthy(100, 10);
        const controller = new AbortController();
        m.clock.onSleep = () => (stack.config.canaryWeight === "25" ? controller.abort() : undefined);
        const result = await bot(stack, { image: V2, version: "v2" }, controller.signal);
        assert.strictEqual(result.outcome, "interrupted");
        assert.strictEqual(exitCode(result), 8);
        assert.strictEqual(result.trafficMoved, true);
        assert.match(result.reason, /^interrupted while waiting to analyse steps 25$/);
        assert.deepStrictEqual([stack.config.releaseStatus, stack.config.canaryWeight], ["in-progress", "25"]);
        assert.strictEqual(stack.config.releaseOwner, undefined, "lease let go");
        m.clock.onSleep = undefined;
        const resumed = await bot(stack, { resume: true });
        assert.strictEqual(resumed.outcome, "completed");
    });

    it("exit codes: paused before traffic moved (4) and after (9)", async () => {
        m.metrics.answer = healthy(100, 10);
        const early = new FakeStack(stackConfig());
        early.failUp = (c) => (c.canaryWeight === "10" ? locked() : undefined);
        const before = await bot(early, { image: V2, version: "v2" });
        assert.deepStrictEqual([before.outcome, before.trafficMoved, exitCode(before)], ["paused", false, 4]);
        const late = new FakeStack(stackConfig());
        late.failUp = (c) => (c.canaryWeight === "50" ? locked() : undefined);
        const after = await bot(late, { image: V2, version: "v2" });
        assert.deepStrictEqual([after.outcome, after.trafficMoved, exitCode(after)], ["paused", true, 9]);
    });
});

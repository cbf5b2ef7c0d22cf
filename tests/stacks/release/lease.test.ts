/** The release lease (lease.ts): who a bot is, when a lease keeps it out, and ConfigLease's refusals. */
import * as assert from "assert";
import {
    blockingLease,
    ConfigLease,
    LeaseLostError,
    processIdentity,
    restoreIfOurs,
} from "../../../stacks/release/lease";
import { FakeClock, FakeStack } from "../fakes";
import { stackConfig } from "./bench";

/** A pid above Linux's largest (2^22): no process has it. */
const NO_SUCH_PID = 4_194_305;

describe("release lease: identities, holders and refusals", () => {
    it("an identity is <host>:<pid>:<nonce>, the host made safe for a lease id and cut at 64", () => {
        assert.match(processIdentity("ci runner/7", 42).id, /^ci_runner_7:42:[0-9a-f]{8}$/);
        assert.match(processIdentity("a".repeat(70), 1).id, new RegExp(`^${"a".repeat(64)}:1:[0-9a-f]{8}$`));
        assert.match(processIdentity("", 1).id, /^host:1:[0-9a-f]{8}$/);
        assert.match(processIdentity().id, new RegExp(`:${process.pid}:[0-9a-f]{8}$`));
    });

    it("an owner is gone only when it is a process of this host that no longer runs", () => {
        const me = processIdentity("here", 1);
        assert.strictEqual(me.isGone(`here:${NO_SUCH_PID}:n`), true);
        assert.strictEqual(me.isGone(`there:${NO_SUCH_PID}:n`), false, "another host's: unknown");
        assert.strictEqual(me.isGone(`here:${process.pid}:n`), false, "runs");
        assert.strictEqual(me.isGone("here:1:n"), false, "runs (or is not ours to signal)");
        assert.strictEqual(me.isGone("here:2147483648:n"), false, "a pid the system cannot even ask about: unknown");
        for (const pid of [` ${NO_SUCH_PID}`, `${NO_SUCH_PID} `, `${NO_SUCH_PID}x`, "", "x"]) {
            assert.strictEqual(me.isGone(`here:${pid}:n`), false, `pid ${JSON.stringify(pid)} is no pid`);
        }
        assert.strictEqual(me.isGone("here"), false, "no pid at all");
    });

    it("a lease keeps a bot out only while another live bot holds it, unless told to take it over", () => {
        const me = { id: "bot-1", isGone: (o: string) => o === "bot-9" };
        const now = new Date("2026-11-30T10:00:00.000Z");
        const until = (owner: string, expires = "2026-11-30T10:05:00.000Z") => ({ owner, expires });
        assert.strictEqual(blockingLease(until("bot-2"), me, now, false), "bot-2");
        assert.strictEqual(blockingLease(undefined, me, now, false), undefined);
        assert.strictEqual(blockingLease(until("bot-1"), me, now, false), undefined, "its own");
        assert.strictEqual(blockingLease(until("bot-2"), me, now, true), undefined, "taken over");
        assert.strictEqual(blockingLease(until("bot-2", "2026-11-30T10:00:00.000Z"), me, now, false), undefined);
        assert.strictEqual(blockingLease(until("bot-9"), me, now, false), undefined, "gone");
    });

    it("a lost lease says whether it was removed or taken, and is a LeaseLostError", () => {
        const removed = new LeaseLostError(undefined, "stage 25");
        assert.strictEqual(
            removed.message,
            "the release lease is no longer this bot's (it was removed) before stage 25; stopping without changing anything",
        );
        assert.strictEqual(removed.name, "LeaseLostError");
    });

    it("ConfigLease refuses when another bot's write comes between its write and its read, naming it or its removal", async () => {
        for (const [other, shown] of [
            ["bot-2", "bot-2"],
            [undefined, "removed"],
        ] as const) {
            const stack = new FakeStack(stackConfig());
            const clock = new FakeClock();
            clock.onSleep = () => {
                if (other === undefined) {
                    delete stack.config.releaseOwner;
                } else {
                    stack.config.releaseOwner = other;
                }
            };
            const lease = new ConfigLease(stack, { id: "bot-1", isGone: () => false }, clock);
            await assert.rejects(lease.acquire({ local: { ...stack.config }, takeOver: false }), {
                message: `another release bot took the release lease of stack dev at the same time (${shown}); nothing was started`,
            });
        }
    });

    it("a put back writes nothing when nothing it would restore is still this bot's", async () => {
        const stack = new FakeStack(stackConfig({ releaseStatus: "in-progress" }));
        await restoreIfOurs(stack, { releaseStatus: "idle" }, { releaseStatus: "completed" });
        assert.deepStrictEqual([stack.writes, stack.config.releaseStatus], [0, "in-progress"]);
        await restoreIfOurs(stack, { releaseStatus: "idle" }, { releaseStatus: "in-progress" });
        assert.deepStrictEqual([stack.writes, stack.config.releaseStatus], [1, "idle"]);
    });
});

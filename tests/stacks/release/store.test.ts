/**
 * The store is the one writer of a release's state and lease (store.ts), with the lease behind a small interface
 * (lease.ts): here with a lease in memory, and with the ConfigLease (the Kubernetes Lease: kube-lease.test.ts).
 */
import * as assert from "assert";
import { ReleaseView } from "../../../config/release-state";
import { transitions } from "../../../config/release-transitions";
import { ConfigLease, LeaseLostError, ReleaseLease } from "../../../stacks/release/lease";
import { ReleaseStore } from "../../../stacks/release/store";
import { DEPLOYMENT } from "../../../stacks/release/guard";
import { FakeClock, FakeStack, locked } from "../fakes";
import { stackConfig, V2 } from "./bench";

/** A lease kept in memory: records each step; `lost` makes every check fail. */
class MemoryLease implements ReleaseLease {
    readonly holder = "bot-1";
    readonly calls: string[] = [];
    lost = false;
    lock(): Promise<void> {
        this.calls.push("lock");
        return Promise.resolve();
    }
    acquire(): Promise<() => Promise<void>> {
        this.calls.push("acquire");
        return Promise.resolve(() => Promise.resolve());
    }
    check(before: string): Promise<void> {
        this.calls.push(`check ${before}`);
        return this.lost ? Promise.reject(new LeaseLostError("bot-2", before)) : Promise.resolve();
    }
    renewedIn(to: ReleaseView): ReleaseView {
        return to;
    }
    renew(): Promise<void> {
        this.calls.push("renew");
        return Promise.resolve();
    }
    letGo(): Promise<void> {
        this.calls.push("letGo");
        return Promise.resolve();
    }
}

const idle: ReleaseView = {
    state: { status: "idle" },
    canaryWeight: 0,
    stable: { image: "registry.example.test/shop:1.0.0", version: "v1" },
};
const started = transitions.start(idle, { image: V2, version: "v2" });

describe("release store: the one writer of release state and lease (fake stack)", () => {
    const open = (stack: FakeStack, lease: ReleaseLease) =>
        new ReleaseStore(stack, lease, { view: idle, values: { ...stack.config }, deployed: {} }, { version: "v2" });

    it("compares the lease, writes only the keys a transition changes, and records what the update deployed", async () => {
        const stack = new FakeStack(stackConfig());
        const lease = new MemoryLease();
        const store = open(stack, lease);
        await store.write(started, "start");
        assert.deepStrictEqual(lease.calls, ["check start"]);
        assert.strictEqual(stack.writes, 1);
        assert.deepStrictEqual(stack.ups.at(-1)!.message, "release v2: start");
        assert.deepStrictEqual(store.view, started);
        assert.deepStrictEqual(
            [store.deployed.releaseStatus, store.deployed.canaryImage, store.deployed.canaryWeight],
            ["in-progress", V2, "0"],
        );
        await store.renewLease();
        await store.letGo();
        assert.deepStrictEqual(lease.calls, ["check start", "renew", "letGo"]);
    });

    it("a lost lease writes nothing", async () => {
        const stack = new FakeStack(stackConfig());
        const lease = new MemoryLease();
        lease.lost = true;
        await assert.rejects(open(stack, lease).write(started, "start"), LeaseLostError);
        assert.deepStrictEqual([stack.writes, stack.ups.length], [0, 0]);
    });

    it("a locked stack puts the config back (unless told to keep it); a refused plan puts it back", async () => {
        const stack = new FakeStack(stackConfig());
        const before = { ...stack.config };
        stack.failUp = () => locked();
        const store = open(stack, new MemoryLease());
        await assert.rejects(store.write(started, "start"), { name: "StackLockedError" });
        assert.deepStrictEqual([stack.config, store.view, store.deployed], [before, idle, {}]);
        await assert.rejects(store.write(started, "start", { restoreOnLock: false }), { name: "StackLockedError" });
        assert.strictEqual(stack.config.releaseStatus, "in-progress", "kept");
        assert.deepStrictEqual(store.view, started);

        const refusing = new FakeStack(stackConfig());
        const replace = { urn: "urn:x::shop-stable", type: DEPLOYMENT, op: "replace" as const, paths: [] };
        refusing.previewChanges = () => [replace];
        const guarded = open(refusing, new MemoryLease());
        await assert.rejects(guarded.write(started, "start", { guard: "start" }), { name: "PlanGuardError" });
        assert.deepStrictEqual([refusing.config, guarded.view, refusing.ups.length], [stackConfig(), idle, 0]);
    });

    it("ConfigLease: renews its hold in every write that keeps an owner, and in its heartbeat after comparing it", async () => {
        const stack = new FakeStack(stackConfig());
        const clock = new FakeClock();
        const lease = new ConfigLease(stack, { id: "bot-1", isGone: () => false }, clock);
        await lease.acquire({ local: stack.config, takeOver: false });
        const owned: ReleaseView = { ...started, state: { ...started.state, owner: "bot-1" } };
        assert.strictEqual(lease.renewedIn(owned).state.leaseExpires, "2026-11-30T10:10:01.500Z");
        assert.strictEqual(lease.renewedIn(started), started, "a write that lets go stays so");
        await clock.sleep(60_000);
        await lease.renew();
        assert.strictEqual(stack.config.releaseLeaseExpires, "2026-11-30T10:11:01.500Z");
        stack.config.releaseOwner = "bot-2";
        await assert.rejects(lease.renew(), {
            message:
                "the release lease is no longer this bot's (now held by bot-2) before renewing it; stopping without changing anything",
        });
        await lease.letGo();
        assert.strictEqual(stack.config.releaseOwner, "bot-2", "another bot's lease is not let go");
        stack.config.releaseOwner = "bot-1";
        await lease.letGo();
        assert.deepStrictEqual([stack.config.releaseOwner, stack.config.releaseLeaseExpires], [undefined, undefined]);
    });
});

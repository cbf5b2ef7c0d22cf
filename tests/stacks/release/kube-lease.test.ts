/**
 * The release lease as a Kubernetes Lease (kube-lease.ts), on fakes: an API server's Leases in memory with real
 * resourceVersion rules (tests/stacks/fakes.ts FakeLeases), clones of the project sharing one backend, the
 * injected clock (whose timers fire while the bot sleeps). One test per window in which a second bot, today, could
 * drive the same release: started together, during the first's preflight, during its first update, during its
 * analysis waits, at a gate with --wait-for-approval 30m; and a killed bot, a bot that cannot renew, a take-over,
 * an unreachable cluster.
 */
import * as assert from "assert";
import { ReleaseOptions } from "../../../stacks/release/context";
import {
    describeHolder,
    KubeLease,
    LEASE_DURATION_S,
    leaseExpiry,
    leaseName,
    microTime,
    otherLiveHolder,
} from "../../../stacks/release/kube-lease";
import { PreflightError, ReleaseResult } from "../../../stacks/release/result";
import { clonesOf, FakeLeaseClient, FakeLeases, FakeStack } from "../fakes";
import { memoryBench, stackConfig, V2 } from "./bench";

const NS = "prod";
const NAME = "istio-canary-release-dev";
const V3 = "registry.example.test/shop:3.0.0";
const fresh = (image = V2, version = image === V2 ? "v2" : "v3"): ReleaseOptions => ({ image, version });
const resume: ReleaseOptions = { resume: true, configFrom: "deployed" };

describe("release lease in Kubernetes: every window in which a second bot could drive the same release", () => {
    const b = memoryBench();
    let leases: FakeLeases;
    beforeEach(() => {
        leases = new FakeLeases();
    });

    /** One bot (a process) on `stack` with its own connection to the cluster's Leases. */
    const bot = (stack: FakeStack, client: FakeLeaseClient, opts: ReleaseOptions = fresh()): Promise<ReleaseResult> =>
        b.botWith(stack, opts, { leases: client });
    const lease = () => leases.lease(NS, NAME);
    /** A second bot is refused up front, naming the holder, and changes nothing in its clone. */
    const refusedNaming = async (run: Promise<ReleaseResult>, stack: FakeStack, holder: string) => {
        await assert.rejects(run, (e: Error) => {
            assert.ok(e instanceof PreflightError, e.message);
            assert.match(
                e.message,
                new RegExp(
                    `^another release bot holds the release lease of stack dev: ${holder} \\(Lease prod/${NAME}: taken ` +
                        "\\S+, renewed \\S+, expires \\S+ unless renewed\\)",
                ),
            );
            return true;
        });
        assert.deepStrictEqual([stack.writes, stack.ups.length, stack.previews.length], [0, 0, 0], "changed nothing");
    };
    /**
     * A bot on `stack` killed once it wrote weight 25: its process and its connection gone, whatever it still tries
     * fails (it may end with an error or a result).
     */
    const killedAt25 = async (stack: FakeStack) => {
        const client = leases.client();
        stack.onWrite = () => {
            if (stack.config.canaryWeight === "25") {
                stack.kill();
                client.kill();
            }
        };
        await bot(stack, client).catch(() => undefined);
    };
    /** Only this image was ever deployed as the canary (no unanalysed canary of another bot). */
    const onlyCanary = (stacks: FakeStack[], image: string) => {
        const canaries = new Set(stacks.flatMap((s) => s.ups.map((u) => u.config.canaryImage)).filter((i) => i));
        assert.deepStrictEqual([...canaries], [image]);
    };

    it("started together: both create the Lease, one gets the conflict and is refused naming the holder", async () => {
        const [one, two] = clonesOf(stackConfig());
        const second = (async () => {
            await Promise.resolve();
            return bot(two, leases.client(), fresh(V3));
        })();
        const first = bot(one, leases.client());
        const r1 = await first;
        assert.strictEqual(r1.outcome, "completed");
        await refusedNaming(second, two, "bot-1");
        onlyCanary([one, two], V2);
        assert.strictEqual(one.deployed!.stableImage, V2);
        assert.strictEqual(lease(), undefined, "released at exit");
        assert.deepStrictEqual(leases.writes[0], "create bot-1");
        assert.strictEqual(b.clock.timerCount, 0, "no renew timer left running");
    });

    it("during the first bot's preflight (a slow read of the deployed config): refused; the first releases", async () => {
        const [one, two] = clonesOf(stackConfig());
        let second: Promise<ReleaseResult> | undefined;
        const read = one.deployedConfig.bind(one);
        one.deployedConfig = async () => {
            if (second === undefined) {
                second = bot(two, leases.client(), fresh(V3));
                await second.catch(() => undefined);
            }
            return read();
        };
        const r1 = await bot(one, leases.client());
        assert.strictEqual(r1.outcome, "completed");
        await refusedNaming(second!, two, "bot-1");
        onlyCanary([one, two], V2);
    });

    it("during the first bot's first update (the 0 s window that hit the backend's lock): refused with exit 2, not paused", async () => {
        const [one, two] = clonesOf(stackConfig());
        let second: Promise<ReleaseResult> | undefined;
        one.failUp = () => {
            second ??= bot(two, leases.client(), fresh(V3));
            return undefined;
        };
        const r1 = await bot(one, leases.client());
        assert.strictEqual(r1.outcome, "completed");
        await refusedNaming(second!, two, "bot-1");
    });

    it("during analysis waits longer than the Lease's duration: renewed by its timer, so the second is refused", async () => {
        const [one, two] = clonesOf(stackConfig({ releaseInterval: "5m" }));
        const t0 = b.clock.now().getTime();
        let second: Promise<ReleaseResult> | undefined;
        let renewedAgo: number | undefined;
        b.clock.onSleep = () => {
            const now = b.clock.now().getTime();
            if (second === undefined && now - t0 >= 12 * 60_000) {
                renewedAgo = now - Date.parse(lease()!.spec.renewTime!);
                second = bot(two, leases.client(), resume);
            }
        };
        const r1 = await bot(one, leases.client());
        assert.strictEqual(r1.outcome, "completed");
        await refusedNaming(second!, two, "bot-1");
        assert.ok(renewedAgo! <= (LEASE_DURATION_S * 1000) / 3, `renewed ${renewedAgo} ms before`);
        const renewals = leases.writes.filter((w) => w === "replace bot-1").length;
        assert.ok(renewals >= 4 * 15, `renewed every ${LEASE_DURATION_S / 3} s through 4 waits of 5 min: ${renewals}`);
    });

    it("at a gate with --wait-for-approval 30m: held the whole time, let go when the bot stops", async () => {
        const [one, two] = clonesOf(stackConfig({ releaseGates: "50" }));
        const t0 = b.clock.now().getTime();
        const tries: Promise<ReleaseResult>[] = [];
        b.clock.onSleep = () => {
            const min = (b.clock.now().getTime() - t0) / 60_000;
            if ((tries.length === 0 && min >= 11) || (tries.length === 1 && min >= 29)) {
                tries.push(bot(two, leases.client(), resume));
            }
        };
        const r1 = await bot(one, leases.client(), { ...fresh(), waitForApprovalMs: 30 * 60_000 });
        assert.strictEqual(r1.outcome, "awaiting-approval");
        assert.strictEqual(tries.length, 2);
        for (const t of tries) {
            await refusedNaming(t, two, "bot-1");
        }
        assert.strictEqual(lease(), undefined, "let go when it stopped");
        b.clock.onSleep = undefined;
        const r3 = await bot(two, leases.client(), { ...resume, decision: { kind: "approve", by: "alice" } });
        assert.strictEqual(r3.outcome, "completed", "the lease is free at once for the next run");
    });

    it("at a gate 15 minutes in (the config record expired): --approve from another clone is handed to the waiting bot", async () => {
        const [one, two] = clonesOf(stackConfig({ releaseGates: "50" }));
        const t0 = b.clock.now().getTime();
        let decided: Promise<ReleaseResult> | undefined;
        let recordLeft = 0;
        b.clock.onSleep = () => {
            if (decided === undefined && b.clock.now().getTime() - t0 >= 15 * 60_000) {
                recordLeft = Date.parse(two.deployed!.releaseLeaseExpires) - b.clock.now().getTime();
                decided = bot(two, leases.client(), { ...resume, decision: { kind: "approve", by: "alice" } });
            }
        };
        const r1 = await bot(one, leases.client(), { ...fresh(), waitForApprovalMs: 30 * 60_000 });
        const r2 = await decided!;
        assert.ok(recordLeft < 0, `the config record of the lease had expired ${-recordLeft} ms before`);
        assert.strictEqual(r2.outcome, "decision-recorded", r2.reason);
        assert.match(r2.reason, /the bot waiting there \(bot-1\) continues the release/);
        assert.strictEqual(r1.outcome, "completed", r1.reason);
        assert.deepStrictEqual(
            r1.approvals?.map((a) => a.by),
            ["alice"],
        );
    });

    it("a killed bot's Lease is taken over once it expired, not before; --resume from the other clone finishes", async () => {
        const [one, two] = clonesOf(stackConfig());
        await killedAt25(one);
        // It ran on another runner (another host): nothing tells this one it is gone but the Lease's expiry.
        b.bots.gone.delete("bot-1");
        const held = lease()!;
        assert.strictEqual(held.spec.holderIdentity, "bot-1", "a killed bot lets go of nothing");
        const expiry = leaseExpiry(held.spec)!.getTime();
        await b.clock.sleep(expiry - 1 - b.clock.now().getTime());
        await refusedNaming(bot(two, leases.client(), resume), two, "bot-1");
        await b.clock.sleep(1);
        const r2 = await bot(two, leases.client(), resume);
        assert.strictEqual(r2.outcome, "completed", r2.reason);
        assert.strictEqual(two.deployed!.stableImage, V2);
        assert.deepStrictEqual(leases.writes.slice(-1), ["delete bot-3"]);
        assert.ok(leases.writes.includes("replace bot-3"), "taken by a replace with a precondition");
    });

    it("a killed bot of this host (its process gone) is known gone: its Lease is taken at once, and said so", async () => {
        const stack = new FakeStack(stackConfig());
        await killedAt25(stack);
        stack.revive();
        assert.strictEqual(lease()!.spec.holderIdentity, "bot-1");
        const r2 = await bot(stack, leases.client(), { resume: true });
        assert.strictEqual(r2.outcome, "completed", r2.reason);
        assert.ok(
            b.lines.includes(
                `took the release lease (Lease prod/${NAME}) over from bot-1 (a process of this host that no longer runs)`,
            ),
        );
    });

    it("a bot that cannot renew (the API unreachable) stops before its next write, however long it waited", async () => {
        const stack = new FakeStack(stackConfig());
        const client = leases.client();
        let upsAtOutage: number | undefined;
        stack.onWrite = () => {
            if (stack.config.canaryWeight === "10" && upsAtOutage === undefined) {
                upsAtOutage = stack.ups.length + 1;
                client.down = true;
            }
        };
        const r = await bot(stack, client);
        assert.strictEqual(r.outcome, "paused");
        assert.match(
            r.reason,
            /^the release lease is no longer this bot's \(not renewed for \d+ s, longer than its 60 s: the Kubernetes API did not answer\) before /,
        );
        assert.strictEqual(stack.ups.length, upsAtOutage, "no update after the one under way at the outage");
    });

    it("--take-over takes a live Lease at once and says from whom; the bot it was taken from stops before its next write", async () => {
        const [one, two] = clonesOf(stackConfig());
        const t0 = b.clock.now().getTime();
        let second: Promise<ReleaseResult> | undefined;
        b.clock.onSleep = () => {
            if (second === undefined && b.clock.now().getTime() - t0 >= 90_000) {
                second = bot(two, leases.client(), { ...resume, takeOver: true });
            }
        };
        const r1 = await bot(one, leases.client());
        const r2 = await second!;
        assert.strictEqual(r1.outcome, "paused");
        assert.match(r1.reason, /^the release lease is no longer this bot's \(now held by bot-2\) before /);
        assert.strictEqual(r2.outcome, "completed", r2.reason);
        assert.ok(b.lines.includes(`took the release lease (Lease prod/${NAME}) over from bot-1 (--take-over)`));
    });

    it("an unreachable cluster or a namespace not deployed yet: refused up front with the reason, nothing changed", async () => {
        const stack = new FakeStack(stackConfig());
        const down = leases.client();
        down.down = true;
        await assert.rejects(bot(stack, down), {
            message:
                `the release lease (Lease prod/${NAME}) cannot be taken: the Kubernetes API did not answer as expected ` +
                "(connect ECONNREFUSED 127.0.0.1:6443). Every runner shares the lease there, so the bot does not " +
                "release without it; nothing was started",
        });
        leases.missingNamespaces.add(NS);
        await assert.rejects(bot(stack, leases.client()), {
            message:
                'the release lease lives in namespace prod, which does not exist yet (POST leases: 404 namespaces "prod" ' +
                "not found): deploy the stack once with `pulumi up`, then release; nothing was started",
        });
        const noApp = new FakeStack(stackConfig({ namespace: "Not_A_Namespace" }));
        await assert.rejects(
            bot(noApp, leases.client()),
            /the release lease lives in the app's namespace, and the stack config of dev names none/,
        );
        assert.deepStrictEqual([stack.writes, stack.ups.length, leases.writes], [0, 0, []]);
    });

    it("a run refused after the Lease was taken (a release already in progress) lets go of it and of its record", async () => {
        const stack = new FakeStack(stackConfig());
        const r1 = await bot(stack, leases.client(), { ...fresh(), policy: { gates: ["25"] } });
        assert.strictEqual(r1.outcome, "awaiting-approval");
        const config = { ...stack.config };
        await assert.rejects(bot(stack, leases.client(), fresh(V3)), /a release is already waiting for approval/);
        assert.deepStrictEqual(stack.config, config, "config as it was");
        assert.strictEqual(lease(), undefined);
        assert.deepStrictEqual(leases.writes.slice(-2), ["create bot-2", "delete bot-2"]);
    });
});

describe("release lease in Kubernetes: names, times and the compare-and-swap of one bot", () => {
    const b = memoryBench();

    it("the Lease's name is a DNS subdomain made from the stack; times are MicroTime", () => {
        assert.strictEqual(leaseName("dev"), "istio-canary-release-dev");
        assert.strictEqual(leaseName("acme/shop/Prod_EU"), "istio-canary-release-acme-shop-prod-eu");
        assert.strictEqual(leaseName("--"), "istio-canary-release-stack");
        assert.strictEqual(microTime(new Date("2026-11-30T10:00:00.123Z")), "2026-11-30T10:00:00.123000Z");
    });

    it("a Lease keeps others out until its renewTime plus its duration, not a millisecond longer", () => {
        const spec = {
            holderIdentity: "bot-1",
            leaseDurationSeconds: 60,
            acquireTime: "2026-11-30T09:00:00.000000Z",
            renewTime: "2026-11-30T10:00:00.000000Z",
        };
        const l = { metadata: { name: NAME, namespace: NS, resourceVersion: "7" }, spec };
        const at = (s: string) => new Date(`2026-11-30T10:0${s}Z`);
        assert.strictEqual(otherLiveHolder(l, "bot-2", at("0:59.999")), "bot-1");
        assert.strictEqual(otherLiveHolder(l, "bot-2", at("1:00.000")), undefined, "expired");
        assert.strictEqual(otherLiveHolder(l, "bot-1", at("0:30.000")), undefined, "its own");
        assert.strictEqual(
            otherLiveHolder({ ...l, spec: { ...spec, holderIdentity: "" } }, "bot-2", at("0:01")),
            undefined,
        );
        assert.strictEqual(otherLiveHolder(undefined, "bot-2", at("0:01")), undefined);
        assert.strictEqual(
            describeHolder(l),
            `bot-1 (Lease prod/${NAME}: taken 2026-11-30T09:00:00.000000Z, renewed 2026-11-30T10:00:00.000000Z, expires 2026-11-30T10:01:00.000Z unless renewed)`,
        );
    });

    it("records holder, duration, acquire and renew times and transitions; a renewal's lost answer is not a lost lease", async () => {
        const leases = new FakeLeases();
        const stack = new FakeStack(stackConfig());
        const client = leases.client();
        const make = (id: string) =>
            new KubeLease({
                namespace: NS,
                stack,
                api: client,
                me: { id, isGone: () => false },
                clock: b.clock,
                log: (l) => b.lines.push(l),
            });
        const one = make("bot-1");
        await one.lock(false);
        const taken = leases.lease(NS, NAME)!;
        assert.deepStrictEqual(taken.spec, {
            holderIdentity: "bot-1",
            leaseDurationSeconds: 60,
            acquireTime: "2026-11-30T10:00:00.000000Z",
            renewTime: "2026-11-30T10:00:00.000000Z",
            leaseTransitions: 0,
        });
        await b.clock.sleep(20_000);
        assert.strictEqual(
            leases.lease(NS, NAME)!.spec.renewTime,
            "2026-11-30T10:00:20.000000Z",
            "renewed by its timer",
        );
        // A renewal that reached the server but whose answer was lost: the next one goes on from the stored Lease.
        const stored = leases.lease(NS, NAME)!;
        leases.apply("replace", { ...stored, spec: { ...stored.spec, renewTime: microTime(b.clock.now()) } });
        await one.check("stage 10");
        await b.clock.sleep(61_000);
        // Expired and taken by another bot: the first finds out before its next write.
        const other = make("bot-2");
        client.down = true;
        await b.clock.sleep(60_000);
        client.down = false;
        await other.lock(false);
        assert.strictEqual(leases.lease(NS, NAME)!.spec.leaseTransitions, 1);
        assert.strictEqual(leases.lease(NS, NAME)!.spec.acquireTime, microTime(b.clock.now()));
        await assert.rejects(one.check("stage 25"), {
            message:
                "the release lease is no longer this bot's (now held by bot-2) before stage 25; stopping without changing anything",
        });
        await one.letGo();
        assert.strictEqual(leases.lease(NS, NAME)!.spec.holderIdentity, "bot-2", "the lost lease is not deleted");
        await other.letGo();
        assert.strictEqual(leases.lease(NS, NAME), undefined);
        assert.strictEqual(b.clock.timerCount, 0);
    });
});

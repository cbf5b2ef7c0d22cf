/**
 * The owner lease: one bot at a time runs a stack's release. A bot takes it in preflight, compares it before every
 * write, renews it, and lets go of it when it stops. A run sees it only as a {@link ReleaseLease}: a Kubernetes
 * Lease (kube-lease.ts; the command line's), or {@link ConfigLease}, which keeps it in stack config
 * (`releaseOwner`, `releaseLeaseExpires`), taken with a compare step (write, wait, read back) that sees only one
 * checkout. With the Kubernetes Lease, those config keys remain as a record of the owner.
 *
 * A lease whose time ran out, or whose owner was a process of this host that no longer runs (a killed bot), is
 * free; a live one is taken over only when asked (`--take-over`).
 */
import * as os from "os";
import * as crypto from "crypto";
import { ConfigChanges, Lease, leaseHeld, ReleaseView, STATE_KEYS } from "../../config/release-state";
import { transitions } from "../../config/release-transitions";
import { StackDriver } from "../automation/driver";
import { Clock } from "./clock";
import { PreflightError } from "./result";

/** How long a lease holds without renewal. */
export const LEASE_TTL_MS = 10 * 60_000;
/** How often a waiting bot renews its lease. */
export const HEARTBEAT_MS = 2 * 60_000;
/** Wait between writing the lease and reading it back (another bot's write in between shows up). */
export const SETTLE_MS = 1500;

/** Who this bot is, and how it tells a dead owner. */
export interface LeaseIdentity {
    id: string;
    /** True when `owner` certainly no longer runs (a process of this host that is gone). */
    isGone(owner: string): boolean;
}

/**
 * This process (or the process `pid` of host `hostname`): `<host>:<pid>:<nonce>`; an owner on this host is gone when
 * its pid no longer runs.
 */
export function processIdentity(hostname = os.hostname(), pid = process.pid): LeaseIdentity {
    const host = hostname.replace(/[^-A-Za-z0-9_.]/g, "_").slice(0, 64) || "host";
    return {
        id: `${host}:${pid}:${crypto.randomBytes(4).toString("hex")}`,
        isGone(owner) {
            const [h, ownerPid] = owner.split(":");
            if (h !== host || !/^\d+$/.test(String(ownerPid))) {
                return false;
            }
            try {
                process.kill(Number(ownerPid), 0);
                return false;
            } catch (e) {
                return (e as NodeJS.ErrnoException).code === "ESRCH";
            }
        },
    };
}

/** The bot no longer holds the lease: another bot (or a person) took the release over. */
export class LeaseLostError extends Error {
    constructor(
        readonly holder: string | undefined,
        what: string,
        why = holder === undefined ? "it was removed" : `now held by ${holder}`,
    ) {
        super(`the release lease is no longer this bot's (${why}) before ${what}; stopping without changing anything`);
        this.name = "LeaseLostError";
    }
}

const K = STATE_KEYS;

/** The lease recorded in raw config values. */
export function leaseIn(config: Record<string, string | undefined>): Lease | undefined {
    const owner = config[K.owner];
    return owner === undefined ? undefined : { owner, expires: config[K.leaseExpires] ?? new Date(0).toISOString() };
}

/** Config changes that set a lease for `owner` from `now`. */
export function leaseChanges(owner: string, now: Date): ConfigChanges {
    return { [K.owner]: owner, [K.leaseExpires]: new Date(now.getTime() + LEASE_TTL_MS).toISOString() };
}

/** Why `lease` keeps this bot out, or undefined when it is free for `me`. */
export function blockingLease(
    lease: Lease | undefined,
    me: LeaseIdentity,
    now: Date,
    takeOver: boolean,
): string | undefined {
    if (lease === undefined || lease.owner === me.id || takeOver || !leaseHeld(lease, now) || me.isGone(lease.owner)) {
        return undefined;
    }
    return lease.owner;
}

/** Where a lease was read from: stack config and the deployed stack's config (undefined before any update). */
export interface LeaseSightings {
    local: Record<string, string>;
    deployed?: Record<string, string>;
}

/**
 * The live bot other than `me` that holds the lease, in stack config or in the deployed stack, and where; undefined
 * when the lease is free for `me`.
 */
export function liveHolder(
    seen: LeaseSightings,
    me: LeaseIdentity,
    now: Date,
    takeOver = false,
): { holder: string; where: string; lease: Lease } | undefined {
    for (const [where, config] of [
        ["stack config", seen.local],
        ["the deployed stack", seen.deployed ?? {}],
    ] as const) {
        const lease = leaseIn(config);
        const holder = blockingLease(lease, me, now, takeOver);
        if (holder !== undefined) {
            return { holder, where, lease: lease! };
        }
    }
    return undefined;
}

/** What taking the lease needs: where it was seen, whether to take it from a live bot, what to write with it. */
export interface LeaseRequest extends LeaseSightings {
    takeOver: boolean;
    /** Config changes written in the same step as the lease (the release state adopted from the deployed stack). */
    alongside?: ConfigChanges;
}

/**
 * What a release run sees of its lease. Today's lease lives in stack config ({@link ConfigLease}); one kept
 * elsewhere (a Kubernetes Lease with compare-and-swap and its own renew timer) implements the same five steps.
 */
export interface ReleaseLease {
    /** This bot's lease id: the release's recorded owner. */
    readonly holder: string;
    /**
     * Takes a lock kept outside stack config (the Kubernetes Lease), before anything of the stack is read; throws a
     * {@link PreflightError} while another live bot holds it. A lease kept in stack config takes it in `acquire`.
     */
    lock(takeOver: boolean): Promise<void>;
    /**
     * Takes the lease; throws a {@link PreflightError} while another live bot holds it (or took it at the same
     * time). Returns what puts back what it wrote, for a preflight that then refuses.
     */
    acquire(request: LeaseRequest): Promise<() => Promise<void>>;
    /** Throws {@link LeaseLostError} unless this bot still holds the lease: compared before every write. */
    check(before: string): Promise<void>;
    /** The release state a write records, with this bot's hold renewed in it (unless the write lets go). */
    renewedIn(to: ReleaseView): ReleaseView;
    /** Extends the hold from now (a waiting bot's heartbeat); throws {@link LeaseLostError} when it was lost. */
    renew(): Promise<void>;
    /** Lets go of the lease where it is still this bot's, so that another bot may resume the release. */
    letGo(): Promise<void>;
}

/** The lease in stack config: `releaseOwner` and `releaseLeaseExpires`, written with the release state. */
export class ConfigLease implements ReleaseLease {
    constructor(
        private readonly stack: StackDriver,
        private readonly me: LeaseIdentity,
        private readonly clock: Clock,
    ) {}

    get holder(): string {
        return this.me.id;
    }

    /** Nothing to take before reading: this lease is taken with the config it lives in. */
    lock(): Promise<void> {
        return Promise.resolve();
    }

    /**
     * Refuses while another live bot holds the lease (in stack config or the deployed stack), writes it with the
     * `alongside` changes, waits, and reads it back.
     */
    async acquire(o: LeaseRequest): Promise<() => Promise<void>> {
        const now = this.clock.now();
        const held = liveHolder(o, this.me, now, o.takeOver);
        if (held !== undefined) {
            throw new PreflightError(
                `another release bot holds the release lease of stack ${this.stack.name} (${held.holder}, in ${held.where}, until ` +
                    `${held.lease.expires}); wait for it to finish, or if it is gone, pass --take-over`,
            );
        }
        const changes = { ...(o.alongside ?? {}), ...leaseChanges(this.holder, now) };
        const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, o.local[k]]));
        await this.stack.setConfig(changes);
        await this.clock.sleep(SETTLE_MS);
        const after = (await this.stack.getConfig()).values;
        if (after[K.owner] !== this.holder) {
            throw new PreflightError(
                `another release bot took the release lease of stack ${this.stack.name} at the same time (${after[K.owner] ?? "removed"}); nothing was started`,
            );
        }
        return () => restoreIfOurs(this.stack, before, changes);
    }

    async check(before: string): Promise<void> {
        const owner = (await this.stack.getConfig()).values[K.owner];
        if (owner !== this.holder) {
            throw new LeaseLostError(owner, before);
        }
    }

    renewedIn(to: ReleaseView): ReleaseView {
        if (to.state.owner === undefined) {
            return to;
        }
        const expires = leaseChanges(this.holder, this.clock.now())[K.leaseExpires]!;
        return transitions.acquire(to, { owner: this.holder, expires });
    }

    async renew(): Promise<void> {
        await this.check("renewing it");
        await this.stack.setConfig(leaseChanges(this.holder, this.clock.now()));
    }

    async letGo(): Promise<void> {
        const current = (await this.stack.getConfig()).values;
        if (current[K.owner] === this.holder) {
            await this.stack.setConfig({ [K.owner]: undefined, [K.leaseExpires]: undefined });
        }
    }
}

/**
 * Puts back `changes` (key -> the value to restore) only where the stack config still holds what this bot
 * wrote (`written`): a value someone else wrote since is never overwritten.
 */
export async function restoreIfOurs(
    stack: StackDriver,
    restore: ConfigChanges,
    written: Record<string, string | undefined>,
): Promise<void> {
    const current = (await stack.getConfig()).values;
    const ours = Object.fromEntries(Object.entries(restore).filter(([k]) => current[k] === written[k]));
    if (Object.keys(ours).length > 0) {
        await stack.setConfig(ours);
    }
}

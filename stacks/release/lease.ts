/**
 * The owner lease: one bot at a time runs a stack's release. The lease is an id and an expiry in stack config
 * (`releaseOwner`, `releaseLeaseExpires`), taken before preflight with a compare step (write, wait, read back),
 * renewed on every write and while waiting, compared before every write, and let go when the bot stops.
 *
 * A lease whose time ran out, or whose owner was a process of this host that no longer runs (a killed bot), is
 * free; a live one is taken over only when asked (`--take-over`).
 */
import * as os from "os";
import * as crypto from "crypto";
import { ConfigChanges, Lease, leaseHeld, STATE_KEYS } from "../../config/release-state";
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

/** This process: `<host>:<pid>:<nonce>`; an owner on this host is gone when its pid no longer runs. */
export function processIdentity(): LeaseIdentity {
    const host =
        os
            .hostname()
            .replace(/[^-A-Za-z0-9_.]/g, "_")
            .slice(0, 64) || "host";
    return {
        id: `${host}:${process.pid}:${crypto.randomBytes(4).toString("hex")}`,
        isGone(owner) {
            const [h, pid] = owner.split(":");
            if (h !== host || !/^\d+$/.test(pid ?? "")) {
                return false;
            }
            try {
                process.kill(Number(pid), 0);
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
    ) {
        super(
            `the release lease is no longer this bot's (${holder === undefined ? "it was removed" : `now held by ${holder}`}) ` +
                `before ${what}; stopping without changing anything`,
        );
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

/**
 * Takes the lease: refuses while another live bot holds it (in the local config or in the deployed one), writes
 * it with `extra` changes, waits, and reads it back. Returns what it wrote and the values it replaced (to put
 * back if preflight then refuses).
 */
export async function acquireLease(
    stack: StackDriver,
    o: {
        me: LeaseIdentity;
        clock: Clock;
        local: Record<string, string>;
        deployed?: Record<string, string>;
        takeOver: boolean;
        extra?: ConfigChanges;
    },
): Promise<{ before: ConfigChanges; written: ConfigChanges }> {
    const now = o.clock.now();
    for (const [where, config] of [
        ["stack config", o.local],
        ["the deployed stack", o.deployed ?? {}],
    ] as const) {
        const holder = blockingLease(leaseIn(config), o.me, now, o.takeOver);
        if (holder !== undefined) {
            throw new PreflightError(
                `another release bot holds the release lease of stack ${stack.name} (${holder}, in ${where}, until ` +
                    `${leaseIn(config)!.expires}); wait for it to finish, or if it is gone, pass --take-over`,
            );
        }
    }
    const changes = { ...(o.extra ?? {}), ...leaseChanges(o.me.id, now) };
    const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, o.local[k]]));
    await stack.setConfig(changes);
    await o.clock.sleep(SETTLE_MS);
    const after = (await stack.getConfig()).values;
    if (after[K.owner] !== o.me.id) {
        throw new PreflightError(
            `another release bot took the release lease of stack ${stack.name} at the same time (${after[K.owner] ?? "removed"}); nothing was started`,
        );
    }
    return { before, written: changes };
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

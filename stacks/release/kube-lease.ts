/**
 * The release lease in the cluster: a `coordination.k8s.io/v1` Lease named `istio-canary-release-<stack>` in the
 * app's namespace, which every runner of the stack sees (every runner talks to that API server already). It is
 * taken with compare-and-swap (create; or replace with the `resourceVersion` read, so that of two bots racing for
 * it exactly one wins), records its holder, when it was taken and renewed and for how long it holds, is renewed on
 * its own timer every third of its duration (whatever the bot is waiting for), is compared (renewed with the same
 * precondition) before every stack write, and is deleted (with the same precondition) when the bot stops.
 *
 * A bot that could not renew it for a whole duration, or found it held by another bot, stops before its next
 * write ({@link LeaseLostError}). A lease whose holder stopped renewing is free once its duration ran out (the
 * holder's `renewTime` plus `leaseDurationSeconds`, by the reader's clock; runners' clocks are assumed to agree
 * within seconds), never before, unless its holder is a process of this host that no longer runs (a killed bot on
 * the same machine); `--take-over` takes a live one. Stack config keeps a copy (`releaseOwner`,
 * `releaseLeaseExpires`) as a record only: the Lease is the lock. The Pulumi backend's own update lock stays the
 * second line.
 */
import { appNamespace } from "../../components/names";
import { DNS_LABEL } from "../../components/validation";
import { ConfigChanges, ReleaseView } from "../../config/release-state";
import { StackDriver } from "../automation/driver";
import { KubeApi, KubeTarget, KubeApiError } from "../automation/kube-api";
import { LeaseApi, LeaseConflictError, LeaseObject, LeaseSpec } from "../automation/kube-leases";

export { type LeaseApi, LeaseConflictError, KubeLeases, type LeaseObject } from "../automation/kube-leases";
import { Clock } from "./clock";
import {
    ConfigLease,
    LeaseIdentity,
    LeaseLostError,
    LeaseRequest,
    leaseChanges,
    ReleaseLease,
    restoreIfOurs,
} from "./lease";
import { PreflightError } from "./result";

/** How long the Lease holds without renewal (seconds). A killed bot's lease is free this long after its last renewal. */
export const LEASE_DURATION_S = 60;

/** The Lease of a stack's releases: `istio-canary-release-<stack>` (a DNS subdomain). */
export function leaseName(stack: string): string {
    const safe = stack
        .toLowerCase()
        .replace(/[^a-z0-9.-]+/g, "-")
        .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
    return `istio-canary-release-${safe || "stack"}`.slice(0, 253);
}

/** The namespace of a stack's Lease: the app's, as the checkout's config names it; undefined when it names none. */
export function leaseNamespace(local: Record<string, string>): string | undefined {
    const namespace = appNamespace(local.app ?? "", local.namespace);
    return DNS_LABEL.test(namespace) ? namespace : undefined;
}

/** A MicroTime (RFC 3339 with six fractional digits, as the API server writes it). */
export function microTime(t: Date): string {
    return t.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** When a Lease runs out (its last renewal plus its duration), or undefined for a Lease nobody holds. */
export function leaseExpiry(spec: LeaseSpec): Date | undefined {
    if (!spec.holderIdentity) {
        return undefined;
    }
    const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? "");
    return new Date((Number.isNaN(renewed) ? 0 : renewed) + (spec.leaseDurationSeconds ?? 0) * 1000);
}

/** The live holder of a Lease other than `me` at `now`, or undefined when it is free for `me`. */
export function otherLiveHolder(lease: LeaseObject | undefined, me: string, now: Date): string | undefined {
    const holder = lease?.spec.holderIdentity;
    const expiry = lease === undefined ? undefined : leaseExpiry(lease.spec);
    return holder && holder !== me && expiry !== undefined && expiry > now ? holder : undefined;
}

/** Who holds a Lease, since when and until when, in words. */
export function describeHolder(lease: LeaseObject): string {
    const { holderIdentity, acquireTime, renewTime } = lease.spec;
    const { namespace, name } = lease.metadata;
    return (
        `${holderIdentity ?? "nobody"} (Lease ${namespace}/${name}: taken ${acquireTime ?? "?"}, renewed ` +
        `${renewTime ?? "?"}, expires ${leaseExpiry(lease.spec)?.toISOString() ?? "?"} unless renewed)`
    );
}

/** Where a stack's Lease is and how it is kept. */
export interface KubeLeaseOptions {
    namespace: string;
    /** The stack whose releases it guards. */
    stack: StackDriver;
    api: LeaseApi;
    me: LeaseIdentity;
    clock: Clock;
    /** One line for people (a take-over names who it took the lease from). */
    log: (line: string) => void;
    durationS?: number;
}

/** Calls `fn` every `ms` (an unref'd interval: it never keeps the process alive) until stopped. */
function intervalEvery(ms: number, fn: () => Promise<void>): () => void {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    return () => clearInterval(timer);
}

/** The release lease as a Kubernetes Lease (see the top of this file). */
export class KubeLease implements ReleaseLease {
    readonly name: string;
    readonly namespace: string;
    readonly durationS: number;
    /** The Lease as this bot last wrote it (undefined before it is taken and once let go). */
    private held?: LeaseObject;
    /** When this bot last renewed (by its clock, taken before the request was sent). */
    private renewedAt = 0;
    /** Set once a renewal found the Lease held by another bot (or removed): this bot holds it no more. */
    private lost?: { holder: string | undefined };
    /** The renewals, one after the other (a timer's and a write's never race each other). */
    private queue: Promise<void> = Promise.resolve();
    private stopTimer?: () => void;
    /** The config record (`releaseOwner`, `releaseLeaseExpires`), kept as before; not the lock. */
    private readonly record: ConfigLease;

    constructor(private readonly o: KubeLeaseOptions) {
        this.name = leaseName(o.stack.name);
        this.namespace = o.namespace;
        this.durationS = o.durationS ?? LEASE_DURATION_S;
        this.record = new ConfigLease(o.stack, o.me, o.clock);
    }

    get holder(): string {
        return this.o.me.id;
    }

    /** Where the Lease is, in words. */
    get where(): string {
        return `Lease ${this.namespace}/${this.name}`;
    }

    private spec(now: Date, before?: LeaseSpec): LeaseSpec {
        const fresh = before?.holderIdentity !== this.holder;
        return {
            holderIdentity: this.holder,
            leaseDurationSeconds: this.durationS,
            acquireTime: fresh ? microTime(now) : before.acquireTime,
            renewTime: microTime(now),
            leaseTransitions: (before?.leaseTransitions ?? 0) + (fresh && before?.holderIdentity ? 1 : 0),
        };
    }

    private unreachable(e: unknown): PreflightError {
        const message = (e as Error).message;
        const missing = e instanceof KubeApiError && e.status === 404;
        return new PreflightError(
            missing
                ? `the release lease lives in namespace ${this.namespace}, which does not exist yet (${message}): deploy the ` +
                      `stack once with \`pulumi up\`, then release; nothing was started`
                : `the release lease (${this.where}) cannot be taken: the Kubernetes API did not answer as expected ` +
                      `(${message}). Every runner shares the lease there, so the bot does not release without it; ` +
                      "nothing was started",
        );
    }

    /**
     * Takes the Lease before anything of the stack is read: creates it, or (held by nobody, expired, or with
     * `takeOver`) replaces the one read with its resourceVersion as precondition. Refuses ({@link PreflightError},
     * naming the holder) while another live bot holds it, or when another bot took it at the same time. Starts
     * the renew timer.
     */
    async lock(takeOver: boolean): Promise<void> {
        const { api, clock } = this.o;
        const now = clock.now();
        const metadata = {
            name: this.name,
            namespace: this.namespace,
            labels: { "app.kubernetes.io/managed-by": "istio-canary" },
        };
        let taken: LeaseObject;
        try {
            try {
                taken = await api.create({ metadata, spec: this.spec(now) });
            } catch (e) {
                if (!(e instanceof LeaseConflictError)) {
                    throw e;
                }
                const current = await api.get(this.namespace, this.name);
                if (current === undefined) {
                    throw this.raced(undefined);
                }
                const other = otherLiveHolder(current, this.holder, now);
                // A holder that is a process of this host that no longer runs is certainly gone (a killed bot).
                const gone = other !== undefined && this.o.me.isGone(other);
                if (other !== undefined && !takeOver && !gone) {
                    throw new PreflightError(
                        `another release bot holds the release lease of stack ${this.o.stack.name}: ${describeHolder(current)}. ` +
                            "Wait for it to finish; if it is gone, the lease is free once it expires (then --resume), or " +
                            "pass --take-over to take it now",
                    );
                }
                taken = await api
                    .replace({ metadata: current.metadata, spec: this.spec(now, current.spec) })
                    .catch(async (e2: unknown) => {
                        throw e2 instanceof LeaseConflictError
                            ? this.raced(await api.get(this.namespace, this.name).catch(() => undefined))
                            : e2;
                    });
                if (other !== undefined) {
                    const why = gone ? "a process of this host that no longer runs" : "--take-over";
                    this.o.log(`took the release lease (${this.where}) over from ${other} (${why})`);
                }
            }
        } catch (e) {
            throw e instanceof PreflightError ? e : this.unreachable(e);
        }
        this.held = taken;
        this.renewedAt = now.getTime();
        const every = this.o.clock.every?.bind(this.o.clock) ?? intervalEvery;
        this.stopTimer = every(Math.floor((this.durationS * 1000) / 3), () => this.renewNow());
    }

    private raced(current: LeaseObject | undefined): PreflightError {
        return new PreflightError(
            `another release bot took the release lease of stack ${this.o.stack.name} at the same time ` +
                `(${current === undefined ? `${this.where} was removed` : describeHolder(current)}); nothing was started`,
        );
    }

    /**
     * With the Lease taken: records it in stack config with the `alongside` changes (no compare there: the Lease
     * is the lock). Returns what puts the config back and lets go of the Lease, for a preflight that then refuses.
     */
    async acquire(o: LeaseRequest): Promise<() => Promise<void>> {
        const changes: ConfigChanges = { ...(o.alongside ?? {}), ...leaseChanges(this.holder, this.o.clock.now()) };
        const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, o.local[k]]));
        await this.o.stack.setConfig(changes);
        return async () => {
            await restoreIfOurs(this.o.stack, before, changes);
            await this.letGo();
        };
    }

    /** Renews the Lease (compare-and-swap), one renewal at a time; a conflict means it is lost. */
    renewNow(): Promise<void> {
        const next = this.queue.then(() => this.renewOnce());
        this.queue = next.catch(() => undefined);
        return next;
    }

    private async renewOnce(): Promise<void> {
        const held = this.held;
        if (held === undefined || this.lost !== undefined) {
            return;
        }
        const { api, clock } = this.o;
        const now = clock.now();
        try {
            this.held = await api.replace({ metadata: held.metadata, spec: this.spec(now, held.spec) });
            this.renewedAt = now.getTime();
        } catch (e) {
            if (!(e instanceof LeaseConflictError)) {
                return; // Unreachable for now: the local expiry decides (see check).
            }
            const current = await api.get(this.namespace, this.name).catch(() => undefined);
            if (current !== undefined && current.spec.holderIdentity === this.holder) {
                // Our own earlier write whose answer was lost: go on from it.
                this.held = current;
                return this.renewOnce();
            }
            this.lost = { holder: current?.spec.holderIdentity };
            this.stopTimer?.();
        }
    }

    /**
     * Before every write: renews the Lease (compare-and-swap); throws {@link LeaseLostError} when another bot holds
     * it now, or when no renewal succeeded for a whole duration (the cluster unreachable: another bot may have taken
     * the release by now).
     */
    async check(before: string): Promise<void> {
        await this.renewNow();
        if (this.lost !== undefined) {
            throw new LeaseLostError(this.lost.holder, before);
        }
        const since = this.o.clock.now().getTime() - this.renewedAt;
        if (this.held === undefined || since >= this.durationS * 1000) {
            throw new LeaseLostError(
                undefined,
                before,
                `not renewed for ${Math.round(since / 1000)} s, longer than its ${this.durationS} s: the Kubernetes API ` +
                    "did not answer",
            );
        }
    }

    renewedIn(to: ReleaseView): ReleaseView {
        return this.record.renewedIn(to);
    }

    /** Nothing to do: the timer renews the Lease whatever the bot waits for, and the next write compares it. */
    renew(): Promise<void> {
        return Promise.resolve();
    }

    /** Stops the timer, deletes the Lease where it is still this bot's, and clears the config record if ours. */
    async letGo(): Promise<void> {
        this.stopTimer?.();
        this.stopTimer = undefined;
        await this.queue;
        const held = this.held;
        this.held = undefined;
        if (held !== undefined && this.lost === undefined) {
            await this.o.api
                .delete(this.namespace, this.name, held.metadata.resourceVersion ?? "")
                .catch(() => undefined);
        }
        await this.record.letGo();
    }
}

/**
 * The cluster's API, where the stack's Kubernetes provider points (its `kubernetes:kubeconfig` and
 * `kubernetes:context`, else the ambient kubeconfig): the release lease lives there (and a fast rollback patches the
 * live routes through it). Without it the bot refuses, before anything is read or changed. `baseDir` is the project
 * directory, where a relative `kubernetes:kubeconfig` path starts.
 */
export function clusterApi(target: KubeTarget = {}, baseDir = process.cwd()): KubeApi {
    try {
        return KubeApi.of(target, baseDir);
    } catch (e) {
        const fix =
            target.kubeconfig === undefined
                ? "set KUBECONFIG to the cluster's kubeconfig (or the stack's kubernetes:kubeconfig)"
                : "fix the stack's kubernetes:kubeconfig";
        throw new PreflightError(
            "the release lease is a Kubernetes Lease in the app's namespace, and the cluster's API cannot be reached " +
                `from the kubeconfig (${(e as Error).message}); ${fix}. Nothing was started`,
        );
    }
}

/**
 * Webhooks: the JSON payload, its HMAC-SHA256 signature, and a call with a timeout per attempt and retries with
 * exponential backoff. What a call did (attempts, last status, time) is kept for the report; the secret never
 * leaves this file, and a hook is shown by its name and origin only (paths and queries may carry tokens).
 */
import * as crypto from "crypto";
import { durationMs, HookSpec, HookType } from "../../config/policy";
import { Clock } from "./clock";

/** Header with `sha256=<hex>`: HMAC-SHA256 of the raw body with releaseHookSecret (as GitHub's X-Hub-Signature-256). */
export const SIGNATURE_HEADER = "X-Istio-Canary-Signature-256";
/** Header with the call's id (the same for every attempt of one call: receivers can drop duplicates). */
export const DELIVERY_HEADER = "X-Istio-Canary-Delivery";
/** Header with the hook's type. */
export const HOOK_TYPE_HEADER = "X-Istio-Canary-Hook";

/** One check of the last analysis, as a hook sees it. */
export interface PayloadCheck {
    name: string;
    value?: number;
    verdict: string;
    min?: number;
    max?: number;
    unit?: string;
}

/** The JSON body of every call (schema version 1). */
export interface HookPayload {
    schemaVersion: 1;
    /** The call's id (also in the X-Istio-Canary-Delivery header). */
    id: string;
    hook: string;
    type: HookType;
    /** When the call was made (UTC, ISO 8601). */
    time: string;
    stack: string;
    app: string;
    namespace: string;
    version: string;
    image: string;
    /** Phase of the release (mirror, header, steps, complete), when one is under way. */
    phase?: string;
    /** The canary's weight now. */
    weight: number;
    /** The header that routes a request to the canary (smoke tests of pre-rollout hooks use it). */
    canaryHeader?: { name: string; value: string };
    /** The checks of the last analysis with their values (empty before the first). */
    checks: PayloadCheck[];
    /** Event hooks: the event. Post-rollout and rollback hooks: the outcome and its reason. */
    event?: { kind: string; message: string };
    outcome?: { name: string; reason: string };
    /** The hook's own `metadata`. */
    metadata?: Record<string, string>;
}

/** What one call of a hook did (for the report). */
export interface HookCall {
    time: string;
    hook: string;
    type: HookType;
    /** scheme://host[:port] of the URL: never its path or query. */
    target: string;
    phase?: string;
    weight: number;
    attempts: number;
    /** HTTP status of the last attempt, when one answered. */
    status?: number;
    ok: boolean;
    /** Why the last attempt failed. */
    error?: string;
    durationMs: number;
}

/** The payload fields that do not depend on the hook. */
export type PayloadBase = Omit<HookPayload, "schemaVersion" | "id" | "hook" | "type" | "time" | "metadata">;

/** `sha256=<hex>` of `body` under `secret`. */
export function signature(secret: string, body: string): string {
    return `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** True when `header` is the signature of `body` under `secret` (constant-time). */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
    const expected = Buffer.from(signature(secret, body));
    const got = Buffer.from(header ?? "");
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/** The wait before retry `n` (1-based): 1 s, 2 s, 4 s, ... at most 30 s. */
export function backoffMs(n: number): number {
    return Math.min(1000 * 2 ** (n - 1), 30_000);
}

/** scheme://host[:port] of a URL. */
export function originOf(url: string): string {
    try {
        return new URL(url).origin;
    } catch {
        return "(invalid URL)";
    }
}

/** One attempt: POST the body, within `timeoutMs`; the status, or why there was none. */
async function attempt(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
): Promise<{ status?: number; error?: string }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
        const res = await fetch(url, {
            method: "POST",
            headers,
            body,
            redirect: "manual",
            signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
        });
        const text = (await res.text()).replace(/\s+/g, " ").trim().slice(0, 160);
        return res.status >= 200 && res.status < 300
            ? { status: res.status }
            : { status: res.status, error: `HTTP ${res.status}${text ? `: ${text}` : ""}` };
    } catch (e) {
        if (timeout.aborted) {
            return { error: `no answer within ${timeoutMs} ms` };
        }
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        return { error: cause?.code ?? cause?.message ?? (e as Error).message };
    }
}

/** Calls webhooks; keeps every call for the report. */
export class HookClient {
    readonly calls: HookCall[] = [];
    private queue: Promise<void> = Promise.resolve();

    constructor(
        readonly specs: HookSpec[],
        private readonly secret: string | undefined,
        private readonly clock: Clock,
        private readonly signal?: AbortSignal,
    ) {}

    /** The hooks of a type. */
    of(type: HookType): HookSpec[] {
        return this.specs.filter((h) => h.type === type);
    }

    /**
     * Calls `spec` with the payload: attempts until one answers 2xx, at most 1 + retries of them, or (with
     * `until`, an epoch ms) until that time, waiting the backoff between them with `pause` (default: the clock).
     */
    async call(
        spec: HookSpec,
        base: PayloadBase,
        o: { until?: number; pause?: (ms: number) => Promise<boolean> } = {},
    ): Promise<HookCall> {
        const t0 = this.clock.now();
        const payload: HookPayload = {
            schemaVersion: 1,
            id: crypto.randomUUID(),
            hook: spec.name,
            type: spec.type,
            time: t0.toISOString(),
            ...base,
            ...(spec.metadata ? { metadata: spec.metadata } : {}),
        };
        const body = JSON.stringify(payload);
        const headers: Record<string, string> = {
            "Content-Type": "application/json",
            "User-Agent": "istio-canary-release-bot",
            [DELIVERY_HEADER]: payload.id,
            [HOOK_TYPE_HEADER]: spec.type,
            ...(this.secret !== undefined ? { [SIGNATURE_HEADER]: signature(this.secret, body) } : {}),
        };
        const timeoutMs = durationMs(spec.timeout);
        const pause = o.pause ?? ((ms: number) => this.clock.sleep(ms, this.signal).then(() => !this.aborted));
        let attempts = 0;
        let last: { status?: number; error?: string } = {};
        for (;;) {
            attempts++;
            last = await attempt(spec.url, body, headers, timeoutMs, this.signal);
            const more = o.until !== undefined ? this.clock.now().getTime() < o.until : attempts <= spec.retries;
            if (last.error === undefined || !more || this.aborted) {
                break;
            }
            const wait = backoffMs(attempts);
            if (o.until !== undefined && this.clock.now().getTime() + wait > o.until) {
                break;
            }
            if (!(await pause(wait))) {
                break;
            }
        }
        const call: HookCall = {
            time: t0.toISOString(),
            hook: spec.name,
            type: spec.type,
            target: originOf(spec.url),
            phase: base.phase,
            weight: base.weight,
            attempts,
            ...(last.status !== undefined ? { status: last.status } : {}),
            ok: last.error === undefined,
            ...(last.error !== undefined ? { error: last.error } : {}),
            durationMs: this.clock.now().getTime() - t0.getTime(),
        };
        this.calls.push(call);
        return call;
    }

    /** Calls every hook of `type` in turn. */
    async callAll(type: HookType, base: PayloadBase): Promise<HookCall[]> {
        const out: HookCall[] = [];
        for (const spec of this.of(type)) {
            out.push(await this.call(spec, base));
        }
        return out;
    }

    /** Queues a call of every event hook (the release does not wait for them; {@link flush} does). */
    notify(base: PayloadBase): void {
        if (this.of("event").length === 0) {
            return;
        }
        this.queue = this.queue.then(() => this.callAll("event", base).then(() => undefined));
    }

    /** Waits for the queued event calls. */
    flush(): Promise<void> {
        return this.queue;
    }

    private get aborted(): boolean {
        return this.signal?.aborted ?? false;
    }
}

/** "smoke (pre-rollout, http://127.0.0.1:8080): HTTP 500 after 3 attempts" */
export function describeCall(c: HookCall): string {
    const what = c.ok ? `HTTP ${c.status ?? "?"}` : (c.error ?? "failed");
    return `${c.hook} (${c.type}, ${c.target}): ${what}${c.attempts > 1 ? ` after ${c.attempts} attempts` : ""}`;
}

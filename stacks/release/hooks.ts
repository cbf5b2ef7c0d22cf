/**
 * Webhooks: the JSON payload, its signature (HMAC-SHA256 over a timestamp and the body, as Stripe signs), and a
 * call with a timeout per attempt and retries with exponential backoff. What a call did (attempts, last status,
 * time) is kept for the report; the secret never leaves this file, and a hook is shown by its name and origin only
 * (paths and queries may carry tokens). What a receiver answers is read up to 1 KiB, never whole. Event hooks are
 * sent in the background, concurrently, each within a short total deadline: a receiver that never answers delays
 * nothing.
 */
import * as crypto from "crypto";
import { performance } from "perf_hooks";
import { originOf, Redactor, urlSecrets } from "../../components/redact";
import { durationMs, HookSpec, HookType } from "../../config/policy";
import { Clock } from "./clock";

/**
 * Header with `t=<unix seconds>,v1=<hex>`: v1 is the HMAC-SHA256, under releaseHookSecret, of `<t>.<raw body>`
 * (Stripe's scheme: the timestamp is signed, so a receiver can refuse an old or replayed delivery).
 */
export const SIGNATURE_HEADER = "X-Istio-Canary-Signature";
/** Header with the call's id (the same for every attempt of one call: receivers can drop duplicates). */
export const DELIVERY_HEADER = "X-Istio-Canary-Delivery";
/** Header with the hook's type. */
export const HOOK_TYPE_HEADER = "X-Istio-Canary-Hook";

/** How old a signature's timestamp a receiver accepts by default (Stripe's default tolerance): 5 minutes. */
export const SIGNATURE_TOLERANCE_S = 300;
/** The most an event call may take, all its attempts and their backoff included. */
export const EVENT_DEADLINE_MS = 5000;
/** The most of a receiver's answer that is read (for the report's error text): 1 KiB. */
export const MAX_ANSWER_READ = 1024;
/** The most of a receiver's answer an error quotes. */
const MAX_QUOTED = 160;

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
    /**
     * Event hooks: the event's number in this run (1, 2, ...). Events are sent concurrently, so they may arrive out
     * of order: order them by it.
     */
    sequence?: number;
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
export type PayloadBase = Omit<
    HookPayload,
    "schemaVersion" | "id" | "hook" | "type" | "time" | "metadata" | "sequence"
>;

/** The signature header of `body` sent at `t` (unix seconds) under `secret`: `t=<t>,v1=<hex>`. */
export function signature(secret: string, t: number, body: string): string {
    return `t=${t},v1=${crypto.createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

/**
 * True when `header` signs `body` under `secret` and its timestamp is at most `toleranceS` seconds from `nowMs`
 * (either way): every v1 in it is compared in constant time, so a sender rotating its secret may send two.
 */
export function verifySignature(
    secret: string,
    body: string,
    header: string | undefined,
    o: { nowMs?: number; toleranceS?: number } = {},
): boolean {
    const fields = (header ?? "").split(",").map((f) => f.trim().split("="));
    const t = fields.find(([k]) => k === "t")?.[1];
    if (t === undefined || !/^\d{1,12}$/.test(t)) {
        return false;
    }
    const age = Math.abs((o.nowMs ?? Date.now()) / 1000 - Number(t));
    if (age > (o.toleranceS ?? SIGNATURE_TOLERANCE_S)) {
        return false;
    }
    const expected = Buffer.from(crypto.createHmac("sha256", secret).update(`${t}.${body}`).digest("hex"));
    return fields
        .filter(([k, v]) => k === "v1" && v !== undefined)
        .some(([, v]) => {
            const got = Buffer.from(v);
            return got.length === expected.length && crypto.timingSafeEqual(got, expected);
        });
}

/** The wait before retry `n` (1-based): 1 s, 2 s, 4 s, ... at most 30 s. */
export function backoffMs(n: number): number {
    return Math.min(1000 * 2 ** (n - 1), 30_000);
}

/** At most `max` bytes of a response's body, as text; what was read when it ends early or fails. */
async function readAtMost(res: Response, max: number): Promise<string> {
    const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = res.body?.getReader();
    if (reader === undefined) {
        return "";
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
        while (size < max) {
            const next = (await reader.read()) as { done: boolean; value?: Uint8Array };
            if (next.done || next.value === undefined) {
                break;
            }
            chunks.push(next.value);
            size += next.value.length;
        }
    } catch {
        // cut short (the attempt's deadline): what was read is the answer
    } finally {
        void reader.cancel().catch(() => undefined);
    }
    return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}

/**
 * One attempt: POST the body, within `timeoutMs`; the status, or why there was none. A 2xx answer's body is not
 * read; another's at most {@link MAX_ANSWER_READ} bytes, quoted by `quote`.
 */
async function attempt(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    quote: (text: string) => string,
    timedOut = `no answer within ${Math.round(timeoutMs)} ms`,
): Promise<{ status?: number; error?: string }> {
    const timeout = AbortSignal.timeout(Math.max(1, Math.round(timeoutMs)));
    try {
        const res = await fetch(url, {
            method: "POST",
            headers,
            body,
            redirect: "manual",
            signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
        });
        if (res.status >= 200 && res.status < 300) {
            void res.body?.cancel().catch(() => undefined);
            return { status: res.status };
        }
        const text = quote(await readAtMost(res, MAX_ANSWER_READ));
        return { status: res.status, error: `HTTP ${res.status}${text ? `: ${text}` : ""}` };
    } catch (e) {
        if (timeout.aborted) {
            return { error: timedOut };
        }
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        return { error: quote(cause?.code ?? cause?.message ?? (e as Error).message) };
    }
}

/** Sleeps `ms` of real time (not the release's clock); false when `signal` aborted. */
function realSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
        const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve(!(signal?.aborted ?? false));
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
    });
}

/** Options of a {@link HookClient}. */
export interface HookClientOptions {
    /** The most an event call may take, attempts and backoff included (default {@link EVENT_DEADLINE_MS}). */
    eventDeadlineMs?: number;
}

/** Calls webhooks; keeps every call for the report. */
export class HookClient {
    readonly calls: HookCall[] = [];
    /** Event calls under way (sent in the background). */
    private readonly inFlight = new Set<Promise<void>>();
    /** Events told so far: the next event's sequence number is one more. */
    private events = 0;
    private readonly eventDeadlineMs: number;

    constructor(
        readonly specs: HookSpec[],
        private readonly secret: string | undefined,
        private readonly clock: Clock,
        private readonly signal?: AbortSignal,
        o: HookClientOptions = {},
    ) {
        this.eventDeadlineMs = o.eventDeadlineMs ?? EVENT_DEADLINE_MS;
    }

    /** The hooks of a type. */
    of(type: HookType): HookSpec[] {
        return this.specs.filter((h) => h.type === type);
    }

    /** The headers of one attempt: signed at the time it is sent (a retry is signed again, with its own time). */
    private headers(spec: HookSpec, id: string, body: string): Record<string, string> {
        return {
            "Content-Type": "application/json",
            "User-Agent": "istio-canary-release-bot",
            [DELIVERY_HEADER]: id,
            [HOOK_TYPE_HEADER]: spec.type,
            ...(this.secret !== undefined
                ? { [SIGNATURE_HEADER]: signature(this.secret, Math.floor(Date.now() / 1000), body) }
                : {}),
        };
    }

    /**
     * Calls `spec` with the payload: attempts until one answers 2xx, at most 1 + retries of them, or (with
     * `until`, an epoch ms of the clock) until that time, waiting the backoff between them with `pause` (default:
     * the clock). With `deadlineMs`, all attempts and their backoff end within that much real time.
     */
    async call(
        spec: HookSpec,
        base: PayloadBase,
        o: { until?: number; pause?: (ms: number) => Promise<boolean>; deadlineMs?: number; sequence?: number } = {},
    ): Promise<HookCall> {
        const t0 = this.clock.now();
        const started = performance.now();
        const payload: HookPayload = {
            schemaVersion: 1,
            id: crypto.randomUUID(),
            hook: spec.name,
            type: spec.type,
            time: t0.toISOString(),
            ...(o.sequence !== undefined ? { sequence: o.sequence } : {}),
            ...base,
            ...(spec.metadata ? { metadata: spec.metadata } : {}),
        };
        const body = JSON.stringify(payload);
        const redactor = new Redactor([this.secret, ...urlSecrets(spec.url)]);
        const quote = (text: string) => redactor.text(text.replace(/\s+/g, " ").trim()).slice(0, MAX_QUOTED);
        const timeoutMs = durationMs(spec.timeout);
        const left = () => (o.deadlineMs === undefined ? Infinity : o.deadlineMs - (performance.now() - started));
        const pause =
            o.pause ??
            (o.deadlineMs !== undefined
                ? (ms: number) => realSleep(ms, this.signal)
                : (ms: number) => this.clock.sleep(ms, this.signal).then(() => !this.aborted));
        let attempts = 0;
        let last: { status?: number; error?: string } = {};
        for (;;) {
            attempts++;
            const cut = left() < timeoutMs;
            last = await attempt(
                spec.url,
                body,
                this.headers(spec, payload.id, body),
                Math.min(timeoutMs, left()),
                this.signal,
                quote,
                cut ? `no answer within the deadline of ${o.deadlineMs} ms` : undefined,
            );
            const more = o.until !== undefined ? this.clock.now().getTime() < o.until : attempts <= spec.retries;
            if (last.error === undefined || !more || this.aborted) {
                break;
            }
            const wait = backoffMs(attempts);
            if (o.until !== undefined && this.clock.now().getTime() + wait > o.until) {
                break;
            }
            if (wait >= left() || !(await pause(wait))) {
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

    /** Calls every hook of `type` at once (post-rollout and rollback hooks are told together). */
    callAll(type: HookType, base: PayloadBase): Promise<HookCall[]> {
        return Promise.all(this.of(type).map((spec) => this.call(spec, base)));
    }

    /**
     * Tells every event hook of an event, in the background: each call starts at once (never behind another
     * event's) and ends within the event deadline, attempts and backoff included; the release never waits for it.
     */
    notify(base: PayloadBase): void {
        const specs = this.of("event");
        if (specs.length === 0) {
            return;
        }
        const sequence = ++this.events;
        for (const spec of specs) {
            const call = this.call(spec, base, { deadlineMs: this.eventDeadlineMs, sequence }).then(
                () => undefined,
                () => undefined,
            );
            this.inFlight.add(call);
            void call.finally(() => this.inFlight.delete(call));
        }
    }

    /** Waits for the event calls under way: at most the event deadline. */
    async flush(): Promise<void> {
        await Promise.all([...this.inFlight]);
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

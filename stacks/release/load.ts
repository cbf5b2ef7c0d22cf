/**
 * Load while judging: for a quiet service, the bot itself sends requests during each analysis window (the wait
 * between a shift and its analysis), so the canary's metrics have data. Paced at a rate, bounded in count per
 * window, in time (it stops when the window ends, each request has a timeout) and in requests in flight; its own
 * success and latency are counted for the report.
 */
import { performance } from "perf_hooks";
import { Clock } from "./clock";

export interface LoadSpec {
    url: string;
    /** Requests per second. */
    rate: number;
    /** At most this many requests (per window). */
    maxRequests: number;
    /** Timeout of each request. */
    timeoutMs: number;
    /** Extra headers (the canary header, to reach the canary by the header route). */
    headers: Record<string, string>;
}

/** What the load of one window did. */
export interface LoadStats {
    sent: number;
    /** Answered with a status below 400. */
    ok: number;
    failed: number;
    /** Answers per HTTP status, and failures without one ("timeout", "ECONNREFUSED", ...). */
    statuses: Record<string, number>;
    /** Latency percentiles of the answered requests, in ms. */
    p50Ms?: number;
    p99Ms?: number;
    maxMs?: number;
    durationMs: number;
}

/** The most requests in flight at once: a slow target slows the load instead of piling requests up. */
export const MAX_IN_FLIGHT = 32;

function percentile(sorted: number[], q: number): number | undefined {
    if (sorted.length === 0) {
        return undefined;
    }
    return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] * 10) / 10;
}

/** Load running in the background until {@link stop}. */
export class RunningLoad {
    private stopped = false;
    private readonly wake = new AbortController();
    private readonly inFlight = new Set<Promise<void>>();
    private readonly latencies: number[] = [];
    private readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, statuses: {}, durationMs: 0 };
    private readonly t0 = performance.now();
    private readonly loop: Promise<void>;

    constructor(
        private readonly spec: LoadSpec,
        private readonly clock: Clock,
        private readonly signal?: AbortSignal,
    ) {
        this.loop = this.run();
    }

    private get done(): boolean {
        return this.stopped || (this.signal?.aborted ?? false) || this.stats.sent >= this.spec.maxRequests;
    }

    private async run(): Promise<void> {
        const gap = 1000 / this.spec.rate;
        const start = performance.now();
        while (!this.done) {
            if (this.inFlight.size >= MAX_IN_FLIGHT) {
                await Promise.race(this.inFlight);
                continue;
            }
            const p = this.one().finally(() => this.inFlight.delete(p));
            this.inFlight.add(p);
            // Paced from the start, so slow answers do not lower the rate (up to MAX_IN_FLIGHT).
            const next = start + this.stats.sent * gap;
            await this.clock.sleep(Math.max(0, next - performance.now()), this.wake.signal);
        }
    }

    private async one(): Promise<void> {
        this.stats.sent++;
        const t = performance.now();
        const count = (key: string) => (this.stats.statuses[key] = (this.stats.statuses[key] ?? 0) + 1);
        try {
            const res = await fetch(this.spec.url, {
                headers: { "User-Agent": "istio-canary-release-bot (load)", ...this.spec.headers },
                redirect: "manual",
                signal: AbortSignal.timeout(this.spec.timeoutMs),
            });
            await res.arrayBuffer();
            this.latencies.push(performance.now() - t);
            count(String(res.status));
            if (res.status < 400) {
                this.stats.ok++;
            } else {
                this.stats.failed++;
            }
        } catch (e) {
            const err = e as { name?: string; cause?: { code?: string } };
            count(err.name === "TimeoutError" ? "timeout" : (err.cause?.code ?? "error"));
            this.stats.failed++;
        }
    }

    /** Stops sending, waits for the requests in flight, and says what the load did. */
    async stop(): Promise<LoadStats> {
        this.stopped = true;
        this.wake.abort();
        await this.loop;
        await Promise.all(this.inFlight);
        const sorted = [...this.latencies].sort((a, b) => a - b);
        return {
            ...this.stats,
            p50Ms: percentile(sorted, 0.5),
            p99Ms: percentile(sorted, 0.99),
            maxMs: percentile(sorted, 1),
            durationMs: Math.round(performance.now() - this.t0),
        };
    }
}

/** Starts the load of one window. */
export function startLoad(spec: LoadSpec, clock: Clock, signal?: AbortSignal): RunningLoad {
    return new RunningLoad(spec, clock, signal);
}

/** "120 requests, 120 ok (100.0%), p50 3.1 ms, p99 9.8 ms" */
export function describeLoad(s: LoadStats): string {
    const pct = s.sent === 0 ? "-" : `${((100 * s.ok) / s.sent).toFixed(1)}%`;
    const lat = s.p50Ms === undefined ? "" : `, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms`;
    return `load: ${s.sent} requests, ${s.ok} ok (${pct})${lat}`;
}

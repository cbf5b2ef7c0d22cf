/** The release bot's unit-test bench: a fake stack and clock, and a Prometheus API on 127.0.0.1. */
import { PrometheusClient } from "../../../stacks/release/prometheus";
import { ReleaseDeps, ReleaseOptions } from "../../../stacks/release/context";
import { ReleaseResult } from "../../../stacks/release/result";
import { runRelease } from "../../../stacks/release/run";
import { FakeBots, FakeClock, FakeMetrics, FakePrometheus, FakeStack, healthy } from "../fakes";
import { validConfig } from "../../fixtures/config";

export const V2 = "registry.example.test/shop:2.0.0";

/** A valid program config (the bot checks the whole of it before changing anything) with a fast policy. */
export function stackConfig(extra: Record<string, string> = {}): Record<string, string> {
    return {
        ...validConfig(),
        namespace: "prod",
        canaryWeight: "0",
        releaseSteps: "10,25,50,100",
        releaseInterval: "1m",
        prometheusScrapeInterval: "15s",
        ...extra,
    };
}

export const analyses = (r: ReleaseResult) => r.events.filter((e) => e.kind === "analysis");

/** Per test: a fresh fake Prometheus, clock and log; `run` runs the bot against them. */
export interface Bench {
    prom: FakePrometheus;
    url: string;
    clock: FakeClock;
    bots: FakeBots;
    lines: string[];
    run(stack: FakeStack, opts?: ReleaseOptions, deps?: Partial<ReleaseDeps>): Promise<ReleaseResult>;
}

/** Registers the bench's hooks in the enclosing `describe` and returns it. */
export function releaseBench(): Bench {
    const bench = {} as Bench;
    beforeEach(async () => {
        bench.prom = new FakePrometheus();
        bench.url = await bench.prom.start();
        bench.clock = new FakeClock();
        bench.bots = new FakeBots();
        bench.lines = [];
        bench.run = (stack, opts = { image: V2, version: "v2" }, deps = {}) => {
            const identity = bench.bots.next();
            // A bot whose run ended (returned, threw or was killed) is a process that is gone.
            return runRelease(opts, {
                stack,
                metrics: new PrometheusClient({ url: bench.url, timeoutMs: 2000 }),
                clock: bench.clock,
                identity,
                log: (l) => bench.lines.push(l),
                ...deps,
            }).finally(() => bench.bots.gone.add(identity.id));
        };
    });
    afterEach(() => bench.prom.stop());
    return bench;
}

/** Per test: metrics in memory, a fake clock and lease identities; `bot` runs one bot (a process) to its end. */
export interface MemoryBench {
    metrics: FakeMetrics;
    clock: FakeClock;
    bots: FakeBots;
    lines: string[];
    bot(stack: FakeStack, opts?: ReleaseOptions, signal?: AbortSignal): Promise<ReleaseResult>;
    /** One bot with more of its dependencies given (the cluster's Leases, a signal). */
    botWith(stack: FakeStack, opts: ReleaseOptions, deps: Partial<ReleaseDeps>): Promise<ReleaseResult>;
}

/** Registers the bench's hooks in the enclosing `describe` and returns it (no HTTP: for tests that run many bots). */
export function memoryBench(): MemoryBench {
    const bench = {} as MemoryBench;
    beforeEach(() => {
        bench.metrics = new FakeMetrics();
        bench.metrics.answer = healthy(100, 10);
        bench.clock = new FakeClock();
        bench.bots = new FakeBots();
        bench.lines = [];
        bench.botWith = (stack, opts, deps) => {
            const identity = bench.bots.next();
            // A bot whose run ended (returned, threw or was killed) is a process that is gone.
            return runRelease(opts, {
                stack,
                metrics: bench.metrics,
                clock: bench.clock,
                identity,
                log: (l) => bench.lines.push(l),
                ...deps,
            }).finally(() => bench.bots.gone.add(identity.id));
        };
        bench.bot = (stack, opts = { image: V2, version: "v2" }, signal) => bench.botWith(stack, opts, { signal });
    });
    return bench;
}

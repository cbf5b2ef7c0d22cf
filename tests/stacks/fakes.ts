/** Test doubles for the release bot: an in-memory stack, a clock that never waits, a Prometheus API server. */
import * as http from "http";
import { AddressInfo } from "net";
import { StackDriver, StackLockedError, UpSummary } from "../../stacks/automation/driver";
import { Clock } from "../../stacks/release/context";

/** One `pulumi up` the fake stack ran: the config it ran with and its targets. */
export interface FakeUp {
    config: Record<string, string>;
    targets?: string[];
}

export const VS_URN =
    "urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$kubernetes:networking.istio.io/v1:VirtualService::shop-vs";

export class FakeStack implements StackDriver {
    readonly name = "dev";
    readonly ups: FakeUp[] = [];
    /** Throw this from the next matching up (by config at the time of the up). */
    failUp?: (config: Record<string, string>, targets?: string[]) => Error | undefined;

    readonly secretKeys: Set<string>;

    /** `secret` lists keys set with --secret besides the TLS pair (always secret here). */
    constructor(
        public config: Record<string, string>,
        secret: Iterable<string> = [],
    ) {
        this.secretKeys = new Set(["tlsCert", "tlsKey", ...secret]);
    }

    getConfig() {
        return Promise.resolve({ values: { ...this.config }, secretKeys: new Set(this.secretKeys) });
    }

    setConfig(changes: Record<string, string | undefined>) {
        for (const [k, v] of Object.entries(changes)) {
            if (v === undefined) {
                delete this.config[k];
            } else {
                this.config[k] = v;
            }
        }
        return Promise.resolve();
    }

    up(opts: { targets?: string[] } = {}): Promise<UpSummary> {
        const err = this.failUp?.({ ...this.config }, opts.targets);
        if (err) {
            return Promise.reject(err);
        }
        this.ups.push({ config: { ...this.config }, targets: opts.targets });
        return Promise.resolve({ resourceChanges: { update: 1 }, durationMs: 1 });
    }

    routingUrn() {
        return Promise.resolve(VS_URN);
    }

    /** canaryWeight of each up, in order. */
    weights(): number[] {
        return this.ups.map((u) => Number(u.config.canaryWeight ?? "0"));
    }
}

export function locked(): StackLockedError {
    return new StackLockedError("the stack is currently locked by 1 lock(s)");
}

/** A clock whose sleeps return at once, advancing time; `onSleep` can interrupt (simulate a kill). */
export class FakeClock implements Clock {
    private t = Date.parse("2026-11-30T10:00:00Z");
    onSleep?: () => void;
    now() {
        return new Date(this.t);
    }
    sleep(ms: number) {
        this.t += ms;
        this.onSleep?.();
        return Promise.resolve();
    }
}

/** How the fake Prometheus answers one query. */
export type Answer =
    { value: number | "NaN" } | { empty: true } | { httpError: number; message: string } | { hangUp: true };

/**
 * A Prometheus HTTP API on 127.0.0.1 answering GET /api/v1/query from `answer(query)`; `vector(1)` (the bot's
 * ping) is answered 1 unless `down`.
 */
export class FakePrometheus {
    readonly queries: string[] = [];
    down = false;
    /** When set, requests without exactly this Authorization header get 401. */
    requireAuthorization?: string;
    answer: (query: string) => Answer = () => ({ value: 100 });
    private server?: http.Server;

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => {
            const url = new URL(req.url ?? "/", "http://x");
            const query = url.searchParams.get("query") ?? "";
            if (this.down) {
                req.socket.destroy();
                return;
            }
            if (this.requireAuthorization !== undefined && req.headers.authorization !== this.requireAuthorization) {
                res.writeHead(401, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ status: "error", error: "unauthorized" }));
                return;
            }
            this.queries.push(query);
            const a: Answer = query === "vector(1)" ? { value: 1 } : this.answer(query);
            if ("hangUp" in a) {
                req.socket.destroy();
                return;
            }
            if ("httpError" in a) {
                res.writeHead(a.httpError, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ status: "error", errorType: "bad_data", error: a.message }));
                return;
            }
            const result = "empty" in a ? [] : [{ metric: {}, value: [Date.now() / 1000, String(a.value)] }];
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

/** Answers for a canary with this success rate and p99 latency. */
export function health(successRate: number, p99: number): (query: string) => Answer {
    return (q) => {
        if (q.startsWith("histogram_quantile")) {
            return { value: p99 };
        }
        if (q.startsWith("sum(increase")) {
            return { value: 1000 };
        }
        return { value: successRate };
    };
}

/** Test doubles for the release bot: an in-memory stack, a clock that never waits, a Prometheus API server. */
import * as http from "http";
import { AddressInfo } from "net";
import {
    PlanMismatchError,
    PreviewOptions,
    PreviewResult,
    ResourceChange,
    routingUrnsOf,
    StackDriver,
    StackLockedError,
    UpOptions,
    UpSummary,
} from "../../stacks/automation/driver";
import { Clock } from "../../stacks/release/clock";
import { DEPLOYMENT, DESTINATION_RULE, GRPC_ROUTE, HTTP_ROUTE, VIRTUAL_SERVICE } from "../../stacks/release/guard";
import { LeaseIdentity } from "../../stacks/release/lease";
import { LeaseApi, LeaseConflictError, LeaseObject } from "../../stacks/release/kube-lease";
import { KubeApiError } from "../../stacks/automation/kube-api";
import { RouteOff, RouteTarget, RoutingControl } from "../../stacks/automation/routing-patch";
import { MetricsSource, QueryResult } from "../../stacks/release/prometheus";

/** One `pulumi up` (or preview) the fake stack ran: the config it ran with, its targets and plan. */
export interface FakeUp {
    config: Record<string, string>;
    targets?: string[];
    plan?: string;
    /** The update's message (what `pulumi stack history` would show). */
    message?: string;
}

export const VS_URN =
    "urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$kubernetes:networking.istio.io/v1:VirtualService::shop-vs";
const urn = (type: string, name: string) =>
    `urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$${type}::${name}`;

/**
 * The routes a shift changes and the DestinationRules they go through, by URN and type, as the program registers
 * them for the config's routingApi and protocol.
 */
export function fakeRouting(config: Record<string, string>): { routes: ResourceChange[]; rules: ResourceChange[] } {
    const change = (type: string, name: string): ResourceChange => ({
        urn: urn(type, name),
        type,
        op: "update",
        paths: type === VIRTUAL_SERVICE ? ["spec.http"] : ["spec.rules"],
    });
    if (config.routingApi !== "gateway-api") {
        return { routes: [change(VIRTUAL_SERVICE, "shop-vs")], rules: [change(DESTINATION_RULE, "shop-dr")] };
    }
    const type = config.protocol === "grpc" ? GRPC_ROUTE : HTTP_ROUTE;
    return {
        routes: [change(type, "shop-route"), change(type, "shop-mesh-route")],
        rules: [change(DESTINATION_RULE, "shop-dr-stable"), change(DESTINATION_RULE, "shop-dr-canary")],
    };
}

/** The resources a change of config updates, as the program would (the routing, the canary or the stable track). */
export function derivedChanges(config: Record<string, string>, deployed: Record<string, string>): ResourceChange[] {
    const differs = (...keys: string[]) => keys.some((k) => config[k] !== deployed[k]);
    const out: ResourceChange[] = [];
    if (differs("canaryWeight", "releasePhase", "mirrorPercent", "releaseMirrorPercent", "canaryHeader")) {
        out.push(...fakeRouting(config).routes);
    }
    if (differs("canaryImage", "canaryVersion")) {
        out.push({ urn: urn(DEPLOYMENT, "shop-canary"), type: DEPLOYMENT, op: "update", paths: ["spec.template"] });
    }
    if (differs("stableImage", "stableVersion", "replicas")) {
        out.push({ urn: urn(DEPLOYMENT, "shop-stable"), type: DEPLOYMENT, op: "update", paths: ["spec.template"] });
    }
    return out;
}

/** A Pulumi stack in memory: local config, the config of the last update (deployed), previews with plans, drift. */
export class FakeStack implements StackDriver {
    readonly name = "dev";
    readonly ups: FakeUp[] = [];
    readonly previews: FakeUp[] = [];
    /** Throw this from the next matching up (by config at the time of the up). */
    failUp?: (config: Record<string, string>, targets?: string[]) => Error | undefined;
    /** What a preview shows (default: what the config change updates, see derivedChanges). */
    previewChanges?: (config: Record<string, string>) => ResourceChange[];
    /** Live routing objects that differ from the state (a kubectl edit). */
    drifted: ResourceChange[] = [];
    /** Called after each config write (0-based count): call kill() in it to kill the bot at that instant. */
    onWrite?: (n: number, changes: Record<string, string | undefined>) => void;
    /** The config of the last update: what is deployed (undefined before the first). */
    deployed?: Record<string, string>;
    writes = 0;
    private dead = false;
    private readonly plans = new Map<string, string>();

    readonly secretKeys: Set<string>;
    /** Like a dry run's stack: an `up` only previews, so nothing is ever deployed. */
    private readonly previewOnly: boolean;

    /** `secret` lists keys set with --secret besides the TLS pair (always secret here). */
    constructor(
        public config: Record<string, string>,
        secret: Iterable<string> = [],
        opts: { deployed?: boolean; previewOnly?: boolean } = {},
    ) {
        this.previewOnly = opts.previewOnly ?? false;
        this.secretKeys = new Set(["tlsCert", "tlsKey", ...secret]);
        if (opts.deployed ?? true) {
            this.deployed = { ...config };
        }
    }

    /** From now on, nothing the bot does reaches the stack (its process is gone). */
    kill(): void {
        this.dead = true;
    }

    /** A new process works on the stack. */
    revive(): void {
        this.dead = false;
        this.onWrite = undefined;
    }

    private alive<T>(f: () => T): Promise<T> {
        if (this.dead) {
            return Promise.reject(new Error("killed"));
        }
        try {
            return Promise.resolve(f());
        } catch (e) {
            return Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
    }

    getConfig() {
        return this.alive(() => ({ values: { ...this.config }, secretKeys: new Set(this.secretKeys) }));
    }

    setConfig(changes: Record<string, string | undefined>) {
        return this.alive(() => {
            for (const [k, v] of Object.entries(changes)) {
                if (v === undefined) {
                    delete this.config[k];
                } else {
                    this.config[k] = v;
                }
            }
            const n = this.writes++;
            this.onWrite?.(n, changes);
        });
    }

    deployedConfig() {
        return this.alive(() =>
            this.deployed === undefined
                ? undefined
                : Object.fromEntries(Object.entries(this.deployed).filter(([k]) => !this.secretKeys.has(k))),
        );
    }

    preview(opts: PreviewOptions = {}): Promise<PreviewResult> {
        return this.alive(() => {
            const plan = opts.savePlan ? `plan-${this.previews.length}` : undefined;
            this.previews.push({ config: { ...this.config }, targets: opts.targets, plan });
            if (plan !== undefined) {
                this.plans.set(plan, JSON.stringify(this.config));
            }
            const changes =
                this.previewChanges?.({ ...this.config }) ?? derivedChanges(this.config, this.deployed ?? {});
            return { changes, plan, summary: { resourceChanges: { update: changes.length }, durationMs: 1 } };
        });
    }

    up(opts: UpOptions = {}): Promise<UpSummary> {
        return this.alive(() => {
            if (opts.plan !== undefined && this.plans.get(opts.plan) !== JSON.stringify(this.config)) {
                throw new PlanMismatchError(`resource ${VS_URN} violates plan: properties changed`);
            }
            const err = this.failUp?.({ ...this.config }, opts.targets);
            if (err) {
                throw err;
            }
            this.ups.push({
                config: { ...this.config },
                targets: opts.targets,
                plan: opts.plan,
                message: opts.message,
            });
            if (!this.previewOnly) {
                this.deployed = { ...this.config };
            }
            return { resourceChanges: { update: 1 }, durationMs: 1 };
        });
    }

    /** The targets of each drift check. */
    readonly driftTargets: (string[] | undefined)[] = [];

    drift(types?: string[], targets?: string[]) {
        this.driftTargets.push(targets);
        return this.alive(() =>
            this.drifted.filter(
                (d) =>
                    (types === undefined || types.includes(d.type)) &&
                    (targets === undefined || targets.includes(d.urn)),
            ),
        );
    }

    outputs() {
        return this.alive(() => {
            const d = this.deployed ?? {};
            return {
                stable: { image: d.stableImage, version: d.stableVersion },
                canary: { image: d.canaryImage ?? d.stableImage, version: d.canaryVersion ?? d.stableVersion },
                ...(() => {
                    const { routes, rules } = fakeRouting(d);
                    const urns = (cs: ResourceChange[]) => cs.map((c) => c.urn);
                    return {
                        routingUrn: routes[0].urn,
                        routeUrns: urns(routes),
                        routingUrns: urns([...routes, ...rules]),
                    };
                })(),
            };
        });
    }

    async routingUrns() {
        return routingUrnsOf(await this.outputs());
    }

    /** canaryWeight of each up, in order. */
    weights(): number[] {
        return this.ups.map((u) => Number(u.config.canaryWeight ?? "0"));
    }
}

export function locked(): StackLockedError {
    return new StackLockedError("the stack is currently locked by 1 lock(s)");
}

/** Lease identities "bot-1", "bot-2", ...; a bot is gone once marked so (its process ended). */
export class FakeBots {
    private n = 0;
    readonly gone = new Set<string>();
    next(): LeaseIdentity {
        const id = `bot-${++this.n}`;
        return { id, isGone: (owner) => this.gone.has(owner) };
    }
    get last(): string {
        return `bot-${this.n}`;
    }
}

/**
 * A clock whose sleeps return at once, advancing time; `onSleep` can interrupt (simulate a kill). Timers
 * (`every`) fire at their times while a sleep passes them, each awaited in turn.
 */
export class FakeClock implements Clock {
    private t = Date.parse("2026-11-30T10:00:00Z");
    private timers: { at: number; ms: number; fn: () => Promise<void> }[] = [];
    onSleep?: () => void;
    now() {
        return new Date(this.t);
    }
    async sleep(ms: number) {
        const end = this.t + ms;
        for (;;) {
            const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
            if (due === undefined) {
                break;
            }
            this.t = Math.max(this.t, due.at);
            due.at += due.ms;
            await due.fn();
        }
        this.t = Math.max(this.t, end);
        this.onSleep?.();
    }
    every(ms: number, fn: () => Promise<void>): () => void {
        const timer = { at: this.t + ms, ms, fn };
        this.timers.push(timer);
        return () => {
            this.timers = this.timers.filter((x) => x !== timer);
        };
    }
    /** Timers running now. */
    get timerCount(): number {
        return this.timers.length;
    }
}

/** Two (or more) clones of the project: each its own local config, one backend (the deployed config is shared). */
export function clonesOf(config: Record<string, string>, n = 2): FakeStack[] {
    const backend: { deployed?: Record<string, string> } = { deployed: { ...config } };
    return Array.from({ length: n }, () => {
        const clone = new FakeStack({ ...config });
        Object.defineProperty(clone, "deployed", {
            get: () => backend.deployed,
            set: (v: Record<string, string> | undefined) => {
                backend.deployed = v;
            },
        });
        return clone;
    });
}

/**
 * The Leases of an API server in memory, with its rules: a create of an existing Lease conflicts, a replace or a
 * delete conflicts unless it names the current resourceVersion, every write gets a new resourceVersion.
 * `client()` is one runner's connection to it.
 */
export class FakeLeases {
    private readonly objects = new Map<string, LeaseObject>();
    private rv = 0;
    /** Namespaces that do not exist (a create there is a 404). */
    readonly missingNamespaces = new Set<string>();
    /** Every write that succeeded: "create|replace|delete <holder>". */
    readonly writes: string[] = [];

    /** The Lease as stored (a copy), or undefined. */
    lease(namespace: string, name: string): LeaseObject | undefined {
        const o = this.objects.get(`${namespace}/${name}`);
        return o === undefined ? undefined : (JSON.parse(JSON.stringify(o)) as LeaseObject);
    }

    client(): FakeLeaseClient {
        return new FakeLeaseClient(this);
    }

    /** @internal one request, applied atomically. */
    apply(op: "get" | "create" | "replace" | "delete", lease: LeaseObject): LeaseObject | undefined {
        const { namespace, name, resourceVersion } = lease.metadata;
        const key = `${namespace}/${name}`;
        const current = this.objects.get(key);
        const copy = (o: LeaseObject) => JSON.parse(JSON.stringify(o)) as LeaseObject;
        const store = () => {
            const o = copy(lease);
            o.metadata.resourceVersion = String(++this.rv);
            this.objects.set(key, o);
            this.writes.push(`${op} ${o.spec.holderIdentity ?? ""}`);
            return copy(o);
        };
        switch (op) {
            case "get":
                return current === undefined ? undefined : copy(current);
            case "create":
                if (this.missingNamespaces.has(namespace)) {
                    throw new KubeApiError(404, `POST leases: 404 namespaces "${namespace}" not found`);
                }
                if (current !== undefined) {
                    throw new LeaseConflictError(`POST leases: 409 leases "${name}" already exists`);
                }
                return store();
            case "replace":
                if (current === undefined || current.metadata.resourceVersion !== resourceVersion) {
                    throw new LeaseConflictError(`PUT leases/${name}: 409 the object has been modified`);
                }
                return store();
            case "delete":
                if (current !== undefined && current.metadata.resourceVersion !== resourceVersion) {
                    throw new LeaseConflictError(`DELETE leases/${name}: 409 precondition failed`);
                }
                if (current !== undefined) {
                    this.objects.delete(key);
                    this.writes.push(`delete ${current.spec.holderIdentity ?? ""}`);
                }
                return undefined;
        }
    }
}

/** One runner's connection to {@link FakeLeases}: `down` (the API unreachable from it), `kill()` (its process gone). */
export class FakeLeaseClient implements LeaseApi {
    down = false;
    private dead = false;
    /** Requests that reached the server. */
    requests = 0;
    constructor(private readonly server: FakeLeases) {}

    kill(): void {
        this.dead = true;
    }

    private async send(
        op: "get" | "create" | "replace" | "delete",
        lease: LeaseObject,
    ): Promise<LeaseObject | undefined> {
        await Promise.resolve();
        if (this.dead) {
            throw new Error("killed");
        }
        if (this.down) {
            throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        }
        this.requests++;
        return this.server.apply(op, lease);
    }

    get(namespace: string, name: string) {
        return this.send("get", { metadata: { namespace, name }, spec: {} });
    }
    async create(lease: LeaseObject) {
        return (await this.send("create", lease))!;
    }
    async replace(lease: LeaseObject) {
        return (await this.send("replace", lease))!;
    }
    async delete(namespace: string, name: string, resourceVersion: string) {
        await this.send("delete", { metadata: { namespace, name, resourceVersion }, spec: {} });
    }
}

/** How the fake Prometheus answers one query. */
export type Answer =
    | { value: number | "NaN" | "+Inf" | "-Inf" }
    | { empty: true }
    | { httpError: number; message: string }
    | { hangUp: true }
    /** This exact body (any JSON, or text), with status 200. */
    | { body: string };

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
            if ("body" in a) {
                res.writeHead(200, { "Content-Type": "application/json" });
                res.end(a.body);
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

/** Metrics in memory (no HTTP), for tests that run the bot many times: `answer(query)` decides. */
export class FakeMetrics implements MetricsSource {
    readonly queries: string[] = [];
    answer: (query: string) => QueryResult = () => ({ kind: "value", value: 100 });
    ping(): Promise<void> {
        return Promise.resolve();
    }
    query(promql: string): Promise<QueryResult> {
        this.queries.push(promql);
        return Promise.resolve(this.answer(promql));
    }
}

/** In-memory answers for a canary with this success rate and p99 latency. */
export function healthy(successRate: number, p99: number): (query: string) => QueryResult {
    return (q) => ({ kind: "value", value: q.startsWith("histogram_quantile") ? p99 : successRate });
}

/** The bot's routing port in memory: records each patch and hand-back, with the stack's update count. */
export class FakeRouting implements RoutingControl {
    readonly calls: string[] = [];
    /** Every patch fails with this error, or the patches of the targets this returns an error for. */
    fail?: Error | ((t: RouteTarget) => Error | undefined);

    constructor(private readonly stack: FakeStack) {}

    /** "prod/shop" for the VirtualService, "GRPCRoute prod/shop-mesh" for a Gateway API route. */
    private static named(t: RouteTarget): string {
        return `${t.kind === "VirtualService" ? "" : `${t.kind} `}${t.namespace}/${t.name}`;
    }

    routeToStable(t: RouteTarget, mirrorPercent?: number): Promise<RouteOff> {
        this.calls.push(`patch ${FakeRouting.named(t)} mirror=${mirrorPercent} after ${this.stack.ups.length} ups`);
        const fail = typeof this.fail === "function" ? this.fail(t) : this.fail;
        return fail ? Promise.reject(fail) : Promise.resolve({ changed: true });
    }

    handBack(t: RouteTarget): Promise<void> {
        this.calls.push(`release ${FakeRouting.named(t)} after ${this.stack.ups.length} ups`);
        return Promise.resolve();
    }
}

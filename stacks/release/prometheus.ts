/**
 * A small client of the Prometheus HTTP API (GET /api/v1/query). It classifies every answer as a value, no data
 * (empty vector or NaN) or an error, so analysis never mistakes a missing metric for a healthy one.
 */
import * as http from "http";
import * as https from "https";
import { originOf, Redactor, urlSecrets } from "../../components/redact";
import { ReleasePolicy } from "../../config/policy";

/**
 * Prometheus credentials from the environment, which override stack config: PROMETHEUS_TOKEN, or
 * PROMETHEUS_USER and PROMETHEUS_PASSWORD.
 */
export function prometheusCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<ReleasePolicy> {
    // Present keys override the stack's, undefined included: credentials from the environment replace those in
    // stack config entirely (a token from the environment is not mixed with a user from config).
    if (env.PROMETHEUS_TOKEN) {
        return { prometheusToken: env.PROMETHEUS_TOKEN, prometheusUser: undefined, prometheusPassword: undefined };
    }
    if (env.PROMETHEUS_USER) {
        return {
            prometheusToken: undefined,
            prometheusUser: env.PROMETHEUS_USER,
            prometheusPassword: env.PROMETHEUS_PASSWORD ?? "",
        };
    }
    return {};
}

/** Where Prometheus is and how to reach it. */
export interface PrometheusOptions {
    url: string;
    /** The most a query may take, from its start to the last byte of its answer (not an idle timeout). */
    timeoutMs: number;
    /** Bearer token (secret). */
    token?: string;
    /** Basic auth (password secret). */
    user?: string;
    password?: string;
    /** Aborted on SIGTERM/SIGINT: a query in flight ends at once, as an error. */
    signal?: AbortSignal;
}

/** The outcome of one instant query. */
export type QueryResult =
    { kind: "value"; value: number } | { kind: "no-data"; reason: string } | { kind: "error"; reason: string };

/** Something that answers PromQL instant queries (the real client, or a test double). */
export interface MetricsSource {
    query(promql: string): Promise<QueryResult>;
    /** Throws with a clear message when Prometheus cannot be reached. */
    ping(): Promise<void>;
}

/** The longest text of Prometheus's own (an error it answered) a reason quotes. */
const MAX_QUOTED = 300;

/** The largest answer the client reads (an instant query's answer is a few hundred bytes): 1 MiB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export class PrometheusClient implements MetricsSource {
    /** How messages name Prometheus: its origin only (the URL's path or query may hold a token). */
    private readonly where: string;
    /** Hides the credentials (and the URL's tokens) in what Prometheus or the network said. */
    private readonly redactor: Redactor;

    constructor(private readonly opts: PrometheusOptions) {
        this.where = originOf(opts.url);
        this.redactor = new Redactor([opts.token, opts.password, ...urlSecrets(opts.url)]);
    }

    /** Text from the peer (an error message, an answer), safe to quote: no credential, at most 300 characters. */
    private quote(text: string): string {
        const safe = this.redactor.text(text.replace(/\s+/g, " ").trim());
        return safe.length > MAX_QUOTED ? `${safe.slice(0, MAX_QUOTED - 3)}...` : safe;
    }

    /**
     * One GET, within a total deadline (a server that trickles its answer byte by byte cannot hold it longer), at
     * most {@link MAX_ANSWER_BYTES} read, and ended at once by the abort signal.
     */
    private get(pathAndQuery: string): Promise<{ status: number; body: string }> {
        const url = new URL(pathAndQuery, this.opts.url.endsWith("/") ? this.opts.url : `${this.opts.url}/`);
        const headers: Record<string, string> = { Accept: "application/json" };
        if (this.opts.token !== undefined) {
            headers.Authorization = `Bearer ${this.opts.token}`;
        } else if (this.opts.user !== undefined) {
            headers.Authorization = `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password ?? ""}`).toString("base64")}`;
        }
        const lib = url.protocol === "https:" ? https : http;
        const { signal, timeoutMs } = this.opts;
        return new Promise((resolve, reject) => {
            let done = false;
            const end = (e: Error | undefined, answer?: { status: number; body: string }) => {
                if (done) {
                    return;
                }
                done = true;
                clearTimeout(timer);
                signal?.removeEventListener("abort", onAbort);
                if (e !== undefined) {
                    req.destroy();
                    reject(e);
                } else {
                    resolve(answer!);
                }
            };
            const onAbort = () => end(new Error("interrupted (SIGTERM/SIGINT)"));
            const timer = setTimeout(() => end(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
            const tooLarge = () => new Error(`an answer larger than ${MAX_ANSWER_BYTES} bytes`);
            const req = lib.get(url, { headers }, (res) => {
                if (Number(res.headers["content-length"] ?? 0) > MAX_ANSWER_BYTES) {
                    end(tooLarge());
                    return;
                }
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (c: Buffer) => {
                    size += c.length;
                    if (size > MAX_ANSWER_BYTES) {
                        end(tooLarge());
                    } else {
                        chunks.push(c);
                    }
                });
                res.on("end", () =>
                    end(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
                );
                res.on("error", (e) => end(e));
                res.on("close", () => end(new Error("the connection closed before the answer ended")));
            });
            req.on("error", (e) => end(e));
            if (signal?.aborted) {
                onAbort();
            } else {
                signal?.addEventListener("abort", onAbort, { once: true });
            }
        });
    }

    async ping(): Promise<void> {
        const result = await this.query("vector(1)");
        if (result.kind !== "value") {
            throw new Error(`Prometheus at ${this.where} is not usable: ${result.reason}`);
        }
    }

    async query(promql: string): Promise<QueryResult> {
        let res: { status: number; body: string };
        try {
            res = await this.get(`api/v1/query?query=${encodeURIComponent(promql)}`);
        } catch (e) {
            return {
                kind: "error",
                reason: `Prometheus unreachable at ${this.where}: ${this.quote((e as Error).message)}`,
            };
        }
        if (res.status === 401 || res.status === 403) {
            return {
                kind: "error",
                reason:
                    `Prometheus at ${this.where} answered HTTP ${res.status}: unauthorized; check prometheusToken ` +
                    "(or prometheusUser and prometheusPassword) in stack config, or PROMETHEUS_TOKEN / PROMETHEUS_USER / " +
                    "PROMETHEUS_PASSWORD in the environment",
            };
        }
        return classifyAnswer(res.status, res.body, (t) => this.quote(t));
    }
}

/** What a JSON value is, for messages ("a string", "null", ...), never the value itself. */
function kindOf(x: unknown): string {
    return x === null ? "null" : Array.isArray(x) ? "a list" : typeof x === "object" ? "an object" : `a ${typeof x}`;
}

/** A field of a parsed JSON value: own fields of plain objects only, never a prototype's (`toString`, ...). */
function field(x: unknown, name: string): unknown {
    return typeof x === "object" && x !== null && !Array.isArray(x) && Object.prototype.hasOwnProperty.call(x, name)
        ? (x as Record<string, unknown>)[name]
        : undefined;
}

/**
 * The outcome of an answer of the query API (its HTTP status and body), whatever the body: never an exception.
 * `quote` makes Prometheus's own error text safe to show.
 */
export function classifyAnswer(status: number, body: string, quote: (text: string) => string = (t) => t): QueryResult {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return { kind: "error", reason: `Prometheus answered HTTP ${status} with a body that is not JSON` };
    }
    const data = field(parsed, "data");
    if (status !== 200 || field(parsed, "status") !== "success" || typeof data !== "object" || data === null) {
        const error = field(parsed, "error");
        return {
            kind: "error",
            reason: `Prometheus answered HTTP ${status}: ${typeof error === "string" ? quote(error) : "no data field"}`,
        };
    }
    return classify(data);
}

/** A sample's value as Prometheus encodes it: [timestamp, "value"]; undefined when it is not one. */
function sampleValue(sample: unknown): string | undefined {
    const v = field(sample, "value");
    return Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && typeof v[1] === "string"
        ? v[1]
        : undefined;
}

/** A finite number as Prometheus writes one (Go's strconv: "12", "-0.5", "1e+06", ".5"). */
const PROM_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** Infinity in any spelling Go's ParseFloat reads ("+Inf", "-Inf", "Inf", "Infinity", any case). */
const PROM_INFINITY = /^[+-]?inf(inity)?$/i;

/**
 * Turns a query's `data` into a single number, or says why there is none. Any shape other than one instant
 * sample (or a scalar) is an "error" result, never an exception: a matrix or string from a custom query, several
 * series, a native histogram sample, a null result, any JSON at all. A value that means infinity in any spelling
 * (+Inf, -Inf, Infinity, 1e999) or NaN is no data; a value in no spelling of Prometheus's (hex "0x10", "1_000",
 * "", " 5") is an error.
 */
export function classify(data: unknown): QueryResult {
    const resultType = field(data, "resultType");
    const result = field(data, "result");
    let raw: string | undefined;
    if (resultType === "vector") {
        if (!Array.isArray(result)) {
            return { kind: "error", reason: "the query returned a vector without a result list" };
        }
        if (result.length === 0) {
            return { kind: "no-data", reason: "empty result" };
        }
        if (result.length > 1) {
            return { kind: "error", reason: `the query returned ${result.length} series; aggregate it to one` };
        }
        if (field(result[0], "histogram") !== undefined) {
            return {
                kind: "error",
                reason: "the query returned a native histogram sample; reduce it to a number (histogram_quantile, ...)",
            };
        }
        raw = sampleValue(result[0]);
    } else if (resultType === "scalar") {
        raw = sampleValue({ value: result });
    } else {
        const what = typeof resultType === "string" ? resultType.slice(0, 40) : kindOf(resultType);
        return {
            kind: "error",
            reason: `the query returned a ${what}; use an instant vector with one series, or a scalar`,
        };
    }
    if (raw === undefined) {
        return { kind: "error", reason: "the query returned a sample that is not [time, value]" };
    }
    const shown = raw.slice(0, 40);
    if (/^nan$/i.test(raw)) {
        return { kind: "no-data", reason: "NaN (no requests in the window?)" };
    }
    const value = PROM_NUMBER.test(raw) ? Number(raw) : PROM_INFINITY.test(raw) ? Infinity : undefined;
    if (value === undefined) {
        return { kind: "error", reason: `the query returned a value that is not a number: ${JSON.stringify(shown)}` };
    }
    if (!Number.isFinite(value)) {
        return { kind: "no-data", reason: `${shown} (no data: e.g. a quantile over too few requests)` };
    }
    return { kind: "value", value };
}

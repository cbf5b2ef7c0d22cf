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
    timeoutMs: number;
    /** Bearer token (secret). */
    token?: string;
    /** Basic auth (password secret). */
    user?: string;
    password?: string;
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

interface ApiResponse {
    status: "success" | "error";
    error?: string;
    data?: { resultType: string; result: unknown };
}

/** The longest text of Prometheus's own (an error it answered) a reason quotes. */
const MAX_QUOTED = 300;

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

    private get(pathAndQuery: string): Promise<{ status: number; body: string }> {
        const url = new URL(pathAndQuery, this.opts.url.endsWith("/") ? this.opts.url : `${this.opts.url}/`);
        const headers: Record<string, string> = { Accept: "application/json" };
        if (this.opts.token !== undefined) {
            headers.Authorization = `Bearer ${this.opts.token}`;
        } else if (this.opts.user !== undefined) {
            headers.Authorization = `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password ?? ""}`).toString("base64")}`;
        }
        const lib = url.protocol === "https:" ? https : http;
        return new Promise((resolve, reject) => {
            const req = lib.get(url, { headers, timeout: this.opts.timeoutMs }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () =>
                    resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
                );
                res.on("error", reject);
            });
            req.on("timeout", () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
            req.on("error", reject);
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
        let parsed: unknown;
        try {
            parsed = JSON.parse(res.body);
        } catch {
            return { kind: "error", reason: `Prometheus answered HTTP ${res.status} with a body that is not JSON` };
        }
        const api = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Partial<ApiResponse>;
        if (res.status !== 200 || api.status !== "success" || typeof api.data !== "object" || api.data === null) {
            const error = typeof api.error === "string" ? this.quote(api.error) : "no data field";
            return { kind: "error", reason: `Prometheus answered HTTP ${res.status}: ${error}` };
        }
        return classify(api.data);
    }
}

/** A sample's value as Prometheus encodes it: [timestamp, "value"]; undefined when it is not one. */
function sampleValue(sample: unknown): string | undefined {
    const v = (sample as { value?: unknown } | null)?.value;
    return Array.isArray(v) && v.length === 2 && typeof v[1] === "string" ? v[1] : undefined;
}

/**
 * Turns a query's `data` into a single number, or says why there is none. Any shape other than one instant
 * sample (or a scalar) is an "error" result, never an exception: a matrix or string from a custom query, several
 * series, a native histogram sample, a null result.
 */
export function classify(data: { resultType?: unknown; result?: unknown }): QueryResult {
    let raw: string | undefined;
    if (data.resultType === "vector") {
        if (!Array.isArray(data.result)) {
            return { kind: "error", reason: "the query returned a vector without a result list" };
        }
        const vector = data.result as unknown[];
        if (vector.length === 0) {
            return { kind: "no-data", reason: "empty result" };
        }
        if (vector.length > 1) {
            return { kind: "error", reason: `the query returned ${vector.length} series; aggregate it to one` };
        }
        if ((vector[0] as { histogram?: unknown } | null)?.histogram !== undefined) {
            return {
                kind: "error",
                reason: "the query returned a native histogram sample; reduce it to a number (histogram_quantile, ...)",
            };
        }
        raw = sampleValue(vector[0]);
    } else if (data.resultType === "scalar") {
        raw = sampleValue({ value: data.result });
    } else {
        return {
            kind: "error",
            reason: `the query returned a ${String(data.resultType)}; use an instant vector with one series, or a scalar`,
        };
    }
    if (raw === undefined) {
        return { kind: "error", reason: "the query returned a sample that is not [time, value]" };
    }
    if (raw === "+Inf" || raw === "-Inf" || raw === "Inf") {
        return { kind: "no-data", reason: `${raw} (no data: e.g. a quantile over too few requests)` };
    }
    const value = Number(raw);
    if (Number.isNaN(value) || raw.trim() === "") {
        return { kind: "no-data", reason: "NaN (no requests in the window?)" };
    }
    return { kind: "value", value };
}

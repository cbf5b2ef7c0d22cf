/**
 * A small client of the Prometheus HTTP API (GET /api/v1/query). It classifies every answer as a value, no data
 * (empty vector or NaN) or an error, so analysis never mistakes a missing metric for a healthy one.
 */
import * as http from "http";
import * as https from "https";
import { ReleasePolicy } from "../../config/policy";

/**
 * Prometheus credentials from the environment, which override stack config: PROMETHEUS_TOKEN, or
 * PROMETHEUS_USER and PROMETHEUS_PASSWORD.
 */
export function prometheusCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<ReleasePolicy> {
    if (env.PROMETHEUS_TOKEN) {
        return { prometheusToken: env.PROMETHEUS_TOKEN };
    }
    if (env.PROMETHEUS_USER) {
        return { prometheusUser: env.PROMETHEUS_USER, prometheusPassword: env.PROMETHEUS_PASSWORD ?? "" };
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

export class PrometheusClient implements MetricsSource {
    constructor(private readonly opts: PrometheusOptions) {}

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
            throw new Error(`Prometheus at ${this.opts.url} is not usable: ${result.reason}`);
        }
    }

    async query(promql: string): Promise<QueryResult> {
        let res: { status: number; body: string };
        try {
            res = await this.get(`api/v1/query?query=${encodeURIComponent(promql)}`);
        } catch (e) {
            return { kind: "error", reason: `Prometheus unreachable at ${this.opts.url}: ${(e as Error).message}` };
        }
        let parsed: ApiResponse;
        try {
            parsed = JSON.parse(res.body) as ApiResponse;
        } catch {
            return { kind: "error", reason: `Prometheus answered HTTP ${res.status} with a body that is not JSON` };
        }
        if (res.status !== 200 || parsed.status !== "success" || parsed.data === undefined) {
            return {
                kind: "error",
                reason: `Prometheus answered HTTP ${res.status}: ${parsed.error ?? "no data field"}`,
            };
        }
        return classify(parsed.data);
    }
}

/** Turns a query's `data` into a single number, or says why there is none. */
export function classify(data: { resultType: string; result: unknown }): QueryResult {
    let raw: unknown;
    if (data.resultType === "vector") {
        const vector = data.result as { value: [number, string] }[];
        if (vector.length === 0) {
            return { kind: "no-data", reason: "empty result" };
        }
        if (vector.length > 1) {
            return { kind: "error", reason: `the query returned ${vector.length} series; aggregate it to one` };
        }
        raw = vector[0].value[1];
    } else if (data.resultType === "scalar") {
        raw = (data.result as [number, string])[1];
    } else {
        return { kind: "error", reason: `the query returned a ${data.resultType}; use an instant vector or scalar` };
    }
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    if (Number.isNaN(value)) {
        return { kind: "no-data", reason: "NaN (no requests in the window?)" };
    }
    return { kind: "value", value };
}

import * as assert from "assert";
import * as fc from "fast-check";
import * as http from "http";
import { AddressInfo } from "net";
import {
    classify,
    classifyAnswer,
    MAX_ANSWER_BYTES,
    prometheusCredentialsFromEnv,
    PrometheusClient,
} from "../../../stacks/release/prometheus";
import { FakePrometheus } from "../fakes";
import { fuzz, parsedJson } from "../../fuzz";

/** A server on 127.0.0.1 that answers every request with `handler`; `stop` closes it and its connections. */
async function serve(handler: http.RequestListener): Promise<{ url: string; stop: () => Promise<void> }> {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        stop: () => {
            server.closeAllConnections();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}

/** A server that sends its answer's headers, then one byte every `everyMs` (never ending). */
const trickle = (everyMs: number) =>
    serve((_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        const timer = setInterval(() => res.write(" "), everyMs);
        res.on("close", () => clearInterval(timer));
    });

/** A sample whose value is `raw`, as the query API answers it. */
const sample = (raw: string) => ({ resultType: "vector", result: [{ metric: {}, value: [1, raw] }] });

/** How Prometheus (Go's strconv) writes a finite number: the test's own statement of the grammar. */
const PROMETHEUS_FLOAT = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

describe("Prometheus answers", () => {
    it("classifies values, no data and errors", () => {
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "99.5"] }] }), {
            kind: "value",
            value: 99.5,
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [] }), {
            kind: "no-data",
            reason: "empty result",
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "NaN"] }] }), {
            kind: "no-data",
            reason: "NaN (no requests in the window?)",
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "1"] }, { value: [1, "2"] }] }), {
            kind: "error",
            reason: "the query returned 2 series; aggregate it to one",
        });
        assert.deepStrictEqual(classify({ resultType: "scalar", result: [1, "7"] }), { kind: "value", value: 7 });
    });

    it("+Inf and -Inf are no data, never a value that passes a one-sided threshold", () => {
        assert.deepStrictEqual(classify({ resultType: "scalar", result: [1, "+Inf"] }), {
            kind: "no-data",
            reason: "+Inf (no data: e.g. a quantile over too few requests)",
        });
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: [1, "-Inf"] }] }), {
            kind: "no-data",
            reason: "-Inf (no data: e.g. a quantile over too few requests)",
        });
    });

    it("infinity in any spelling is no data, like +Inf; hex and other non-Prometheus spellings are errors", () => {
        for (const raw of ["Infinity", "-Infinity", "+Infinity", "Inf", "inf", "1e999", "-1e999"]) {
            assert.deepStrictEqual(classify(sample(raw)), {
                kind: "no-data",
                reason: `${raw} (no data: e.g. a quantile over too few requests)`,
            });
        }
        for (const raw of ["0x10", "0b1", "0o7", "1_000", " 5", "5 ", "", "1,5", "NaNa", "++1", "1e", "∞"]) {
            assert.deepStrictEqual(classify(sample(raw)), {
                kind: "error",
                reason: `the query returned a value that is not a number: ${JSON.stringify(raw)}`,
            });
        }
        for (const [raw, value] of [
            ["1e+06", 1e6],
            [".5", 0.5],
            ["5.", 5],
            ["-0.25", -0.25],
            ["+3", 3],
        ] as const) {
            assert.deepStrictEqual(classify(sample(raw)), { kind: "value", value });
        }
        assert.deepStrictEqual(classify({ resultType: "vector", result: [{ value: ["1", "5"] }] }), {
            kind: "error",
            reason: "the query returned a sample that is not [time, value]",
        });
    });

    it("the classifier never throws on any JSON: a value is a finite number in Prometheus's spelling (fuzz, 3000 answers)", () => {
        const values = fc.oneof(
            fc.double().map(String),
            fc.integer().map(String),
            fc.string({ maxLength: 8 }),
            fc.constantFrom("NaN", "+Inf", "-Inf", "Infinity", "1e999", "0x10", "1_000", " 5", "", "1e+06", ".5"),
        );
        const samples = fc.record({
            resultType: fc.constantFrom("vector", "scalar", "matrix", "string"),
            result: fc.oneof(
                fc.array(fc.record({ value: fc.tuple(fc.oneof(fc.double(), fc.string()), values) }), { maxLength: 2 }),
                fc.tuple(fc.double(), values),
                parsedJson(),
            ),
        });
        const answers = fc.oneof(samples, parsedJson(["resultType", "result", "value", "histogram"], [values]));
        fuzz(
            fc.property(answers, (data) => {
                const r = classify(data);
                assert.ok(["value", "no-data", "error"].includes(r.kind));
                if (r.kind === "value") {
                    assert.ok(Number.isFinite(r.value));
                    const d = data as { resultType: string; result: [{ value: [number, string] }] | [number, string] };
                    const raw =
                        d.resultType === "vector" ? (d.result[0] as { value: [number, string] }).value[1] : d.result[1];
                    assert.ok(PROMETHEUS_FLOAT.test(raw as string), `a value from ${JSON.stringify(data)}`);
                } else {
                    assert.strictEqual(typeof r.reason, "string");
                }
            }),
            3000,
        );
    });

    it("any answer at all is classified, never thrown: status and body (fuzz, 2000 answers)", () => {
        const body = fc.oneof(
            fc.string(),
            parsedJson(["status", "data", "error", "resultType", "result"]).map((v) => JSON.stringify(v)),
            fc
                .record({ status: fc.constantFrom("success", "error"), data: parsedJson(["resultType", "result"]) })
                .map((v) => JSON.stringify(v)),
        );
        fuzz(
            fc.property(fc.tuple(fc.integer({ min: 0, max: 999 }), body), ([status, text]) => {
                const r = classifyAnswer(status, text);
                assert.ok(["value", "no-data", "error"].includes(r.kind));
                assert.ok(r.kind !== "value" || (status === 200 && Number.isFinite(r.value)));
            }),
            2000,
        );
    });

    describe("a hostile or broken Prometheus (a real server on 127.0.0.1)", function () {
        this.timeout(5000);

        it("a server trickling one byte every 200 ms cannot hold a 1 s query: the timeout is a total deadline", async () => {
            const server = await trickle(200);
            try {
                const t0 = Date.now();
                const r = await new PrometheusClient({ url: server.url, timeoutMs: 1000 }).query("sum(up)");
                assert.deepStrictEqual(r, {
                    kind: "error",
                    reason: `Prometheus unreachable at ${server.url}: no complete answer within 1000 ms`,
                });
                assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
            } finally {
                await server.stop();
            }
        });

        it("the bot's abort signal (SIGTERM) ends a query in flight at once", async () => {
            const server = await trickle(200);
            const stop = new AbortController();
            try {
                const client = new PrometheusClient({ url: server.url, timeoutMs: 60_000, signal: stop.signal });
                setTimeout(() => stop.abort(), 300);
                const t0 = Date.now();
                const r = await client.query("sum(up)");
                assert.deepStrictEqual(r, {
                    kind: "error",
                    reason: `Prometheus unreachable at ${server.url}: interrupted (SIGTERM/SIGINT)`,
                });
                assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
                assert.strictEqual((await client.query("sum(up)")).kind, "error", "and every query after it");
            } finally {
                await server.stop();
            }
        });

        it("an answer larger than 1 MiB is refused as it arrives, never read whole", async () => {
            let written = 0;
            const server = await serve((req, res) => {
                res.writeHead(200, { "Content-Type": "application/json" });
                const chunk = Buffer.alloc(64 * 1024, " ");
                const more = () => {
                    while (written < 64 * MAX_ANSWER_BYTES && res.write(chunk)) {
                        written += chunk.length;
                    }
                };
                res.on("drain", more);
                more();
                req.on("close", () => res.destroy());
            });
            try {
                const r = await new PrometheusClient({ url: server.url, timeoutMs: 4000 }).query("sum(up)");
                assert.deepStrictEqual(r, {
                    kind: "error",
                    reason: `Prometheus unreachable at ${server.url}: an answer larger than 1048576 bytes`,
                });
                assert.ok(written < 8 * MAX_ANSWER_BYTES, `${written} bytes sent before the client hung up`);
            } finally {
                await server.stop();
            }
        });
    });

    describe("every answer shape the client does not expect is an error result, never an exception", () => {
        let prom: FakePrometheus;
        let client: PrometheusClient;
        beforeEach(async () => {
            prom = new FakePrometheus();
            client = new PrometheusClient({ url: await prom.start(), timeoutMs: 2000 });
        });
        afterEach(() => prom.stop());

        const cases: [string, string, string][] = [
            ["a null body", "null", "Prometheus answered HTTP 200: no data field"],
            ["a body that is a string", '"hello"', "Prometheus answered HTTP 200: no data field"],
            [
                "result: null",
                '{"status":"success","data":{"resultType":"vector","result":null}}',
                "the query returned a vector without a result list",
            ],
            ["data: null", '{"status":"success","data":null}', "Prometheus answered HTTP 200: no data field"],
            [
                "a native histogram sample",
                '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"3","sum":"1","buckets":[]}]}]}}',
                "the query returned a native histogram sample; reduce it to a number (histogram_quantile, ...)",
            ],
            [
                "a matrix from a custom query",
                '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}',
                "the query returned a matrix; use an instant vector with one series, or a scalar",
            ],
            [
                "a string from a custom query",
                '{"status":"success","data":{"resultType":"string","result":[1,"x"]}}',
                "the query returned a string; use an instant vector with one series, or a scalar",
            ],
            [
                "several series",
                '{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]},{"value":[1,"3"]}]}}',
                "the query returned 3 series; aggregate it to one",
            ],
            [
                "a sample without a value pair",
                '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":7}]}}',
                "the query returned a sample that is not [time, value]",
            ],
            [
                "a scalar without a value",
                '{"status":"success","data":{"resultType":"scalar","result":null}}',
                "the query returned a sample that is not [time, value]",
            ],
        ];
        for (const [what, body, reason] of cases) {
            it(what, async () => {
                prom.answer = () => ({ body });
                assert.deepStrictEqual(await client.query("sum(up)"), { kind: "error", reason });
            });
        }

        it("a 401 or 403 says unauthorized, not unreachable", async () => {
            prom.requireAuthorization = "Bearer right";
            const r = await client.query("sum(up)");
            assert.strictEqual(r.kind, "error");
            assert.match(
                (r as { reason: string }).reason,
                /^Prometheus at http:\/\/127\.0\.0\.1:\d+ answered HTTP 401: unauthorized; check prometheusToken/,
            );
        });
    });

    it("credentials from the environment replace those in stack config entirely", () => {
        assert.deepStrictEqual(prometheusCredentialsFromEnv({ PROMETHEUS_TOKEN: "t" }), {
            prometheusToken: "t",
            prometheusUser: undefined,
            prometheusPassword: undefined,
        });
        assert.deepStrictEqual(prometheusCredentialsFromEnv({ PROMETHEUS_USER: "u", PROMETHEUS_PASSWORD: "p" }), {
            prometheusToken: undefined,
            prometheusUser: "u",
            prometheusPassword: "p",
        });
        assert.deepStrictEqual(prometheusCredentialsFromEnv({}), {});
    });
});

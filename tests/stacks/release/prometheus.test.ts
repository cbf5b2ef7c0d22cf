import * as assert from "assert";
import { classify, prometheusCredentialsFromEnv, PrometheusClient } from "../../../stacks/release/prometheus";
import { FakePrometheus } from "../fakes";

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

/**
 * The release bot's health checks on a real Prometheus (Debian's package), through the bot's own client: what
 * the success-rate query measures when a canary answers only 5xx, and when it gets no traffic. The series come
 * from an exporter the test controls (simulated counts, real PromQL evaluation).
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { successRateQuery } from "../../components/promql";
import { PrometheusClient } from "../../stacks/release/prometheus";
import { LocalPrometheus } from "./prometheus";

const NS = "shop-promql";

/** Serves istio_requests_total for shop-canary: only 503s, growing by 50 per scrape. */
function only503Exporter(): { start: () => Promise<number>; stop: () => void } {
    let count = 0;
    const server = http.createServer((_req, res) => {
        count += 50;
        const labels = `reporter="destination",destination_workload_namespace="${NS}",destination_workload="shop-canary",destination_version="v2"`;
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
        res.end(`# TYPE istio_requests_total counter\nistio_requests_total{${labels},response_code="503"} ${count}\n`);
    });
    return {
        start: () =>
            new Promise((resolve) =>
                server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
            ),
        stop: () => server.close(),
    };
}

describe("e2e: the success-rate check on a real Prometheus", function () {
    this.timeout(120_000);
    const exporter = only503Exporter();
    const prometheus = new LocalPrometheus();
    let client: PrometheusClient;

    before(async () => {
        const url = await prometheus.start(await exporter.start());
        client = new PrometheusClient({ url, timeoutMs: 5000 });
        // Enough scrapes (one a second) for a rate over 5s.
        const deadline = Date.now() + 60_000;
        while ((await client.query(`count_over_time(istio_requests_total[10s])`)).kind !== "value") {
            assert.ok(Date.now() < deadline, "Prometheus scraped the exporter");
            await new Promise((r) => setTimeout(r, 1000));
        }
        await new Promise((r) => setTimeout(r, 4000));
    });

    after(async () => {
        exporter.stop();
        await prometheus.stop();
    });

    it("a canary answering only 5xx measures 0%, where Flagger's form of the query has no data", async () => {
        const q = successRateQuery({ namespace: NS, workload: "shop-canary", version: "v2", interval: "5s" });
        assert.deepStrictEqual(await client.query(q), { kind: "value", value: 0 });
        const flagger = await client.query(q.replace(" or on() vector(0)", ""));
        assert.strictEqual(flagger.kind, "no-data", JSON.stringify(flagger));
    });

    it("a canary with no traffic at all is no data, not 0%", async () => {
        const q = successRateQuery({ namespace: NS, workload: "shop-canary", version: "v3", interval: "5s" });
        assert.strictEqual((await client.query(q)).kind, "no-data");
    });
});

/**
 * An exporter the test controls, for a real Prometheus (scripts/mesh/prometheus.ts) to scrape. It serves
 * Istio's istio_requests_total and istio_request_duration_milliseconds_bucket for the stable and canary
 * workloads, with request rates that follow the live weights and an error rate and latency the test sets.
 */
import * as http from "http";
import { AddressInfo } from "net";

export { LocalPrometheus } from "../../scripts/mesh/prometheus";

/** How the simulated canary behaves. */
export interface CanaryBehaviour {
    /** Fraction (0..1) of canary responses that are 503 at a canary weight. */
    errorRate: (weight: number) => number;
    /** Latency of canary responses, in ms. */
    latencyMs: number;
}

const BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
const TOTAL_RPS = 200;

/** Serves Istio metrics for `namespace`'s shop-stable and shop-canary workloads. */
export class IstioExporter {
    behaviour: CanaryBehaviour = { errorRate: () => 0, latencyMs: 20 };
    private server?: http.Server;
    private last = Date.now();
    private readonly counters = new Map<string, number>();

    constructor(
        private readonly namespace: string,
        /** The live canary weight (0..100). */
        private readonly canaryWeight: () => number,
        /** The live canary pods' `version` label (Istio's destination_version). */
        private readonly canaryVersion: () => string = () => "v-canary",
    ) {}

    private add(key: string, n: number): void {
        this.counters.set(key, (this.counters.get(key) ?? 0) + n);
    }

    /** Advances the counters by the time since the last scrape. */
    private tick(): void {
        const now = Date.now();
        const dt = (now - this.last) / 1000;
        this.last = now;
        const w = this.canaryWeight();
        // The canary also gets a trickle at weight 0 (header routing, synthetic checks), as in a real mesh.
        const canaryRps = Math.max((TOTAL_RPS * w) / 100, 5);
        const tracks: [string, string, number, number, number][] = [
            ["shop-stable", "v-stable", TOTAL_RPS - (TOTAL_RPS * w) / 100, 0, 20],
            ["shop-canary", this.canaryVersion(), canaryRps, this.behaviour.errorRate(w), this.behaviour.latencyMs],
        ];
        for (const [workload, version, rps, errorRate, latency] of tracks) {
            const n = rps * dt;
            const labels = `reporter="destination",destination_workload_namespace="${this.namespace}",destination_workload="${workload}",destination_version="${version}"`;
            this.add(`istio_requests_total{${labels},response_code="200"}`, n * (1 - errorRate));
            this.add(`istio_requests_total{${labels},response_code="503"}`, n * errorRate);
            for (const le of BUCKETS) {
                this.add(`istio_request_duration_milliseconds_bucket{${labels},le="${le}"}`, latency <= le ? n : 0);
            }
            this.add(`istio_request_duration_milliseconds_bucket{${labels},le="+Inf"}`, n);
        }
    }

    async start(): Promise<number> {
        this.server = http.createServer((_req, res) => {
            this.tick();
            const lines = [
                "# TYPE istio_requests_total counter",
                "# TYPE istio_request_duration_milliseconds_bucket counter",
                ...[...this.counters].map(([k, v]) => `${k} ${v.toFixed(3)}`),
            ];
            res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
            res.end(lines.join("\n") + "\n");
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return (this.server.address() as AddressInfo).port;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

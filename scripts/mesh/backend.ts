/**
 * One pod's backend process: run inside the mesh network namespace, it listens on the pod's IP and container port
 * with mutual TLS as Istio configures it for the mesh (its certificate carries the pod's SPIFFE identity and is
 * signed by istiod's CA; clients must present one from the same CA), answers the gRPC method of protocol.ts with
 * its pod, track and version, and records every request the way Istio's server-side proxy reports it
 * (reporter="destination" istio_requests_total and istio_request_duration_milliseconds). Its control socket (a
 * Unix socket: the test's process lives in another network namespace) serves GET /metrics (Prometheus text) and
 * PUT /behaviour ({"errorRate": 0.3, "latencyMs": 20}).
 *
 * Configuration: the JSON of {@link BackendConfig} in MESH_BACKEND_CONFIG. Prints "ready" once it listens.
 * Standard library only, so that a new pod's backend starts in a few tens of milliseconds.
 */
import * as fs from "fs";
import * as http from "http";
import * as http2 from "http2";
import * as tls from "tls";
import { Behaviour, DURATION_BUCKETS_MS, ECHO_METHOD, EchoReply, frame, SOURCE_WORKLOAD_HEADER } from "./protocol";

export interface BackendConfig {
    pod: string;
    ip: string;
    port: number;
    namespace: string;
    workload: string;
    app: string;
    track: string;
    version: string;
    /** FQDN of the Service (destination_service). */
    serviceHost: string;
    /** The pod's SPIFFE identity (destination_principal). */
    identity: string;
    certificateFile: string;
    privateKeyFile: string;
    caCertificateFile: string;
    controlSocket: string;
    behaviour: Behaviour;
}

function escapeLabel(v: string): string {
    return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Istio's standard metrics, as one server-side proxy would export them. */
class IstioMetrics {
    private readonly requests = new Map<string, number>();
    private readonly durations = new Map<string, { buckets: number[]; sum: number; count: number }>();

    constructor(private readonly cfg: BackendConfig) {}

    record(o: {
        sourceWorkload: string;
        sourceNamespace: string;
        principal: string;
        code: number;
        grpcStatus: string;
        ms: number;
    }): void {
        const c = this.cfg;
        const labels = [
            ["reporter", "destination"],
            ["source_workload", o.sourceWorkload],
            ["source_workload_namespace", o.sourceNamespace],
            ["source_principal", o.principal],
            ["destination_workload", c.workload],
            ["destination_workload_namespace", c.namespace],
            ["destination_principal", c.identity],
            ["destination_app", c.app],
            ["destination_version", c.version],
            ["destination_service", c.serviceHost],
            ["destination_service_name", c.serviceHost.split(".")[0]],
            ["destination_service_namespace", c.namespace],
            ["destination_canonical_service", c.app],
            ["destination_canonical_revision", c.version],
            ["destination_cluster", "Kubernetes"],
            ["request_protocol", "grpc"],
            ["connection_security_policy", "mutual_tls"],
        ]
            .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
            .join(",");
        const req = `${labels},response_code="${o.code}",grpc_response_status="${o.grpcStatus}",response_flags="-"`;
        this.requests.set(req, (this.requests.get(req) ?? 0) + 1);
        const h = this.durations.get(req) ?? { buckets: DURATION_BUCKETS_MS.map(() => 0), sum: 0, count: 0 };
        this.durations.set(req, h);
        DURATION_BUCKETS_MS.forEach((le, i) => {
            if (o.ms <= le) {
                h.buckets[i] += 1;
            }
        });
        h.sum += o.ms;
        h.count += 1;
    }

    text(): string {
        const out = [
            "# TYPE istio_requests_total counter",
            ...[...this.requests].map(([l, v]) => `istio_requests_total{${l}} ${v}`),
            "# TYPE istio_request_duration_milliseconds histogram",
        ];
        for (const [l, h] of this.durations) {
            DURATION_BUCKETS_MS.forEach((le, i) => {
                out.push(`istio_request_duration_milliseconds_bucket{${l},le="${le}"} ${h.buckets[i]}`);
            });
            out.push(`istio_request_duration_milliseconds_bucket{${l},le="+Inf"} ${h.count}`);
            out.push(`istio_request_duration_milliseconds_sum{${l}} ${h.sum}`);
            out.push(`istio_request_duration_milliseconds_count{${l}} ${h.count}`);
        }
        return out.join("\n") + "\n";
    }
}

/** "spiffe://cluster.local/ns/NS/sa/SA" -> NS, or "unknown". */
function namespaceOf(principal: string): string {
    return /^spiffe:\/\/[^/]+\/ns\/([^/]+)\//.exec(principal)?.[1] ?? "unknown";
}

function peerPrincipal(socket: tls.TLSSocket): string {
    const san = socket.getPeerCertificate()?.subjectaltname ?? "";
    return (
        san
            .split(", ")
            .find((s) => s.startsWith("URI:spiffe://"))
            ?.slice(4) ?? "unknown"
    );
}

export function runBackend(cfg: BackendConfig): void {
    let behaviour: Behaviour = cfg.behaviour;
    const metrics = new IstioMetrics(cfg);
    const server = http2.createSecureServer({
        key: fs.readFileSync(cfg.privateKeyFile),
        cert: fs.readFileSync(cfg.certificateFile),
        ca: fs.readFileSync(cfg.caCertificateFile),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
    });
    server.on("stream", (stream, headers) => {
        const start = performance.now();
        const principal = peerPrincipal(stream.session!.socket as tls.TLSSocket);
        const sourceWorkload = String(headers[SOURCE_WORKLOAD_HEADER] ?? "unknown");
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", () => undefined);
        stream.on("end", () => {
            const b = behaviour;
            setTimeout(() => {
                if (stream.destroyed) {
                    return;
                }
                const fail = Math.random() < b.errorRate;
                const record = (code: number, grpcStatus: string) =>
                    metrics.record({
                        sourceWorkload,
                        sourceNamespace: namespaceOf(principal),
                        principal,
                        code,
                        grpcStatus,
                        ms: performance.now() - start,
                    });
                if (headers[":path"] !== ECHO_METHOD) {
                    stream.respond(
                        { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" },
                        { endStream: true },
                    );
                    record(200, "12");
                } else if (fail) {
                    // A failing upstream as a proxy reports it: HTTP 503, no gRPC body (the client sees UNAVAILABLE).
                    stream.respond({ ":status": 503 }, { endStream: true });
                    record(503, "14");
                } else {
                    const reply: EchoReply = {
                        pod: cfg.pod,
                        ip: cfg.ip,
                        workload: cfg.workload,
                        track: cfg.track,
                        version: cfg.version,
                        peer: principal,
                    };
                    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
                    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
                    stream.end(frame(reply));
                    record(200, "0");
                }
            }, b.latencyMs);
        });
    });

    const control = http.createServer((req, res) => {
        if (req.method === "GET" && req.url === "/metrics") {
            res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
            res.end(metrics.text());
            return;
        }
        if (req.method === "PUT" && req.url === "/behaviour") {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                behaviour = JSON.parse(body) as Behaviour;
                res.writeHead(204);
                res.end();
            });
            return;
        }
        res.writeHead(404);
        res.end();
    });

    fs.rmSync(cfg.controlSocket, { force: true });
    server.on("error", (e: Error) => {
        console.error(`backend ${cfg.pod}: ${e.message}`);
        process.exit(1);
    });
    server.listen(cfg.port, cfg.ip, () => {
        control.listen(cfg.controlSocket, () => {
            process.stdout.write("ready\n");
        });
    });
    const stop = () => {
        control.close();
        fs.rmSync(cfg.controlSocket, { force: true });
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    exitWithParent();
}

/** Exits when the process that started this one is gone (a killed test must not leave servers behind). */
export function exitWithParent(): void {
    const parent = process.ppid;
    setInterval(() => {
        if (process.ppid !== parent) {
            process.exit(0);
        }
    }, 500).unref();
}

if (require.main === module) {
    const raw = process.env.MESH_BACKEND_CONFIG;
    if (!raw) {
        console.error("MESH_BACKEND_CONFIG is not set");
        process.exit(2);
    }
    runBackend(JSON.parse(raw) as BackendConfig);
}

/**
 * The one gRPC method the mesh's backends serve, with JSON messages (no .proto to compile): the client asks, the
 * backend answers with who it is. Shared by the backend (raw HTTP/2) and the client (@grpc/grpc-js). No imports, so
 * the backend process stays light.
 */

/** Full gRPC method path. */
export const ECHO_METHOD = "/istiocanary.mesh.v1.Echo/Who";

/** Metadata the client sends so the server side can label its metrics (Istio learns it by metadata exchange). */
export const SOURCE_WORKLOAD_HEADER = "x-istio-canary-source-workload";

export interface EchoRequest {
    /** Sequence number of the request in its batch (for debugging). */
    seq: number;
}

/** What a backend answers: its pod, track and version. */
export interface EchoReply {
    pod: string;
    ip: string;
    workload: string;
    track: string;
    version: string;
    /** The client's identity from its certificate (the URI SAN), as the server saw it over mutual TLS. */
    peer: string;
}

/** A gRPC length-prefixed message (uncompressed). */
export function frame(message: unknown): Buffer {
    const body = Buffer.from(JSON.stringify(message), "utf8");
    const head = Buffer.alloc(5);
    head.writeUInt8(0, 0);
    head.writeUInt32BE(body.length, 1);
    return Buffer.concat([head, body]);
}

/** Decodes the first gRPC length-prefixed JSON message of `data`. */
export function unframe<T>(data: Buffer): T {
    if (data.length < 5) {
        throw new Error(`gRPC message too short (${data.length} bytes)`);
    }
    if (data.readUInt8(0) !== 0) {
        throw new Error("compressed gRPC messages are not supported");
    }
    const len = data.readUInt32BE(1);
    return JSON.parse(data.subarray(5, 5 + len).toString("utf8")) as T;
}

/** How a backend behaves; the test changes it per version while the backend runs. */
export interface Behaviour {
    /** Fraction (0..1) of requests answered with HTTP 503 (what a failing upstream returns through a proxy). */
    errorRate: number;
    /** Added latency of every response, in ms. */
    latencyMs: number;
}

export const HEALTHY: Behaviour = { errorRate: 0, latencyMs: 0 };

/** Istio's default buckets of istio_request_duration_milliseconds (ms). */
export const DURATION_BUCKETS_MS = [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/**
 * The mesh client process: a proxyless gRPC client (@grpc/grpc-js with @grpc/grpc-js-xds) that takes all of its
 * routing from istiod over xDS (bootstrap in GRPC_XDS_BOOTSTRAP: istiod's plaintext xDS port through a Unix socket,
 * the client's sidecar node identity, a file-watcher certificate provider named "default" with a certificate
 * signed by istiod's CA). It calls `xds:///<service host>:<port>`: listener, routes (header and cookie matches, the
 * weighted route), clusters (subsets, ISTIO_MUTUAL) and endpoints all come from istiod; the TLS it uses is the one
 * the clusters ask for (XdsChannelCredentials), so a DestinationRule with ISTIO_MUTUAL means mutual TLS here.
 *
 * Runs inside the mesh network namespace; the test drives it over a Unix socket (MESH_CLIENT_CONFIG.controlSocket):
 *   POST /batch {"n", "concurrency", "metadata"}   -> BatchResult
 *   POST /load {"rps", "metadata"} | DELETE /load   continuous traffic, every response kept as an event
 *   GET /events?since=<epoch ms>                    -> LoadEvent[] sent at or after `since`
 * Prints "ready" once its control socket listens.
 */
import * as fs from "fs";
import * as http from "http";
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { ECHO_METHOD, EchoReply, EchoRequest, frame, SOURCE_WORKLOAD_HEADER } from "./protocol";

export interface ClientConfig {
    /** xds:///<host>:<port> */
    target: string;
    controlSocket: string;
    sourceWorkload: string;
    /** Per-request deadline in ms. */
    deadlineMs: number;
}

/** Outcome counts of a batch. */
export interface BatchResult {
    n: number;
    ok: number;
    /** Successful responses per track, per version, per pod, per "track/version". */
    byTrack: Record<string, number>;
    byVersion: Record<string, number>;
    byPod: Record<string, number>;
    byTrackVersion: Record<string, number>;
    /** Failed calls per gRPC status ("14 UNAVAILABLE: ..." shortened to the code and first message). */
    errors: Record<string, number>;
    /** Peer identities the backends saw (client certificate URI SANs). */
    peers: string[];
    elapsedMs: number;
}

/** One response of continuous load: send time (epoch ms), track ("" on error), gRPC status code. */
export type LoadEvent = [number, string, number];

const serialize = (m: EchoRequest) => frame(m).subarray(5);
const deserialize = (b: Buffer) => JSON.parse(b.toString("utf8")) as EchoReply;

function run(cfg: ClientConfig): void {
    grpcXds.register();
    const client = new grpc.Client(cfg.target, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()));
    let seq = 0;

    function call(metadata: Record<string, string>): Promise<{ reply?: EchoReply; code: number; details: string }> {
        const md = new grpc.Metadata();
        md.set(SOURCE_WORKLOAD_HEADER, cfg.sourceWorkload);
        for (const [k, v] of Object.entries(metadata)) {
            md.set(k, v);
        }
        return new Promise((resolve) => {
            client.makeUnaryRequest<EchoRequest, EchoReply>(
                ECHO_METHOD,
                serialize,
                deserialize,
                { seq: seq++ },
                md,
                { deadline: Date.now() + cfg.deadlineMs },
                (err, reply) => {
                    if (err) {
                        resolve({ code: err.code, details: err.details });
                    } else {
                        resolve({ reply, code: 0, details: "" });
                    }
                },
            );
        });
    }

    async function batch(n: number, concurrency: number, metadata: Record<string, string>): Promise<BatchResult> {
        const r: BatchResult = {
            n,
            ok: 0,
            byTrack: {},
            byVersion: {},
            byPod: {},
            byTrackVersion: {},
            errors: {},
            peers: [],
            elapsedMs: 0,
        };
        const peers = new Set<string>();
        const add = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
        const t0 = performance.now();
        let next = 0;
        const worker = async () => {
            while (next < n) {
                next++;
                const res = await call(metadata);
                if (res.reply) {
                    r.ok++;
                    add(r.byTrack, res.reply.track);
                    add(r.byVersion, res.reply.version);
                    add(r.byPod, res.reply.pod);
                    add(r.byTrackVersion, `${res.reply.track}/${res.reply.version}`);
                    peers.add(res.reply.peer);
                } else {
                    add(r.errors, `${res.code} ${res.details.slice(0, 120)}`);
                }
            }
        };
        await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
        r.elapsedMs = performance.now() - t0;
        r.peers = [...peers].sort();
        return r;
    }

    const events: LoadEvent[] = [];
    const MAX_EVENTS = 500_000;
    let load: NodeJS.Timeout | undefined;
    function startLoad(rps: number, metadata: Record<string, string>): void {
        stopLoad();
        const tickMs = 10;
        let credit = 0;
        load = setInterval(() => {
            credit += (rps * tickMs) / 1000;
            while (credit >= 1) {
                credit -= 1;
                const sent = Date.now();
                void call(metadata).then((res) => {
                    if (events.length >= MAX_EVENTS) {
                        events.splice(0, MAX_EVENTS / 2);
                    }
                    events.push([sent, res.reply?.track ?? "", res.code]);
                });
            }
        }, tickMs);
    }
    function stopLoad(): void {
        if (load) {
            clearInterval(load);
            load = undefined;
        }
    }

    const readBody = (req: http.IncomingMessage): Promise<Record<string, unknown>> =>
        new Promise((resolve, reject) => {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                try {
                    resolve(body === "" ? {} : (JSON.parse(body) as Record<string, unknown>));
                } catch (e) {
                    reject(e instanceof Error ? e : new Error(String(e)));
                }
            });
        });
    const json = (res: http.ServerResponse, code: number, v: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
    };
    const control = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://mesh-client");
        void (async () => {
            try {
                if (req.method === "POST" && url.pathname === "/batch") {
                    const b = await readBody(req);
                    const md = (b.metadata ?? {}) as Record<string, string>;
                    json(res, 200, await batch(Number(b.n ?? 1), Number(b.concurrency ?? 8), md));
                } else if (req.method === "POST" && url.pathname === "/load") {
                    const b = await readBody(req);
                    startLoad(Number(b.rps ?? 100), (b.metadata ?? {}) as Record<string, string>);
                    json(res, 200, { ok: true });
                } else if (req.method === "DELETE" && url.pathname === "/load") {
                    stopLoad();
                    json(res, 200, { ok: true });
                } else if (req.method === "GET" && url.pathname === "/events") {
                    const since = Number(url.searchParams.get("since") ?? 0);
                    json(
                        res,
                        200,
                        events.filter((e) => e[0] >= since),
                    );
                } else {
                    json(res, 404, { error: `no ${req.method} ${url.pathname}` });
                }
            } catch (e) {
                json(res, 500, { error: String(e) });
            }
        })();
    });
    fs.rmSync(cfg.controlSocket, { force: true });
    control.listen(cfg.controlSocket, () => process.stdout.write("ready\n"));
    const stop = () => {
        stopLoad();
        client.close();
        control.close();
        fs.rmSync(cfg.controlSocket, { force: true });
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    const parent = process.ppid;
    setInterval(() => {
        if (process.ppid !== parent) {
            stop();
        }
    }, 500).unref();
}

if (require.main === module) {
    const raw = process.env.MESH_CLIENT_CONFIG;
    if (!raw) {
        console.error("MESH_CLIENT_CONFIG is not set");
        process.exit(2);
    }
    run(JSON.parse(raw) as ClientConfig);
}

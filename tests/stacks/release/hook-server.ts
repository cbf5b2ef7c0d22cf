/** A webhook receiver on 127.0.0.1 that a test controls: what it answers, how slowly, and which secret it checks. */
import * as http from "http";
import { AddressInfo } from "net";
import * as crypto from "crypto";
import { HookPayload, SIGNATURE_HEADER } from "../../../stacks/release/hooks";

/**
 * The receiver's own check, as the README tells receivers (not the bot's code): `t=<unix seconds>,v1=<hex>`,
 * v1 the HMAC-SHA256 of `<t>.<raw body>`, t within 5 minutes of now.
 */
function signedWith(secret: string, body: string, header: string | undefined): boolean {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
    if (m === null || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) {
        return false;
    }
    const expected = crypto.createHmac("sha256", secret).update(`${m[1]}.${body}`).digest("hex");
    return crypto.timingSafeEqual(Buffer.from(m[2]), Buffer.from(expected));
}

/** One request the server received. */
export interface Received {
    path: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    payload: HookPayload;
    /** The signature checked with the server's secret (undefined: no secret set). */
    signed?: boolean;
}

/**
 * What to answer: a status (and body), after a delay; a status and this text again and again, never ending; no
 * answer at all (until the server stops); or hang up without one.
 */
export type HookAnswer =
    | { status: number; body?: string; delayMs?: number }
    | { status: number; endless: string }
    | { never: true }
    | { hangUp: true };

export class HookServer {
    readonly received: Received[] = [];
    /** Decides the answer of the n-th request (0-based) to a path. */
    answer: (n: number, path: string) => HookAnswer = () => ({ status: 200 });
    /** Bytes sent of endless answers. */
    streamed = 0;
    /** When set, requests whose signature does not match this secret get 401. GETs (load) carry no payload. */
    secret?: string;
    private server?: http.Server;
    private readonly counts = new Map<string, number>();

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                const body = Buffer.concat(chunks).toString("utf8");
                const path = req.url ?? "/";
                const n = this.counts.get(path) ?? 0;
                this.counts.set(path, n + 1);
                const sig = req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined;
                const signed = this.secret === undefined ? undefined : signedWith(this.secret, body, sig);
                this.received.push({
                    path,
                    headers: req.headers,
                    body,
                    payload: (body ? JSON.parse(body) : {}) as HookPayload,
                    signed,
                });
                const a: HookAnswer = signed === false ? { status: 401, body: "bad signature" } : this.answer(n, path);
                if ("hangUp" in a) {
                    req.socket.destroy();
                    return;
                }
                if ("never" in a) {
                    return;
                }
                if ("endless" in a) {
                    res.writeHead(a.status, { "Content-Type": "text/plain" });
                    const chunk = a.endless.repeat(Math.ceil(65536 / a.endless.length));
                    const more = () => {
                        while (!res.destroyed && res.write(chunk)) {
                            this.streamed += chunk.length;
                        }
                    };
                    res.on("drain", more);
                    more();
                    return;
                }
                const reply = () => {
                    res.writeHead(a.status, { "Content-Type": "text/plain" });
                    res.end(a.body ?? "");
                };
                if (a.delayMs) {
                    setTimeout(reply, a.delayMs);
                } else {
                    reply();
                }
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    /** The requests to a path. */
    to(path: string): Received[] {
        return this.received.filter((r) => r.path === path);
    }

    stop(): Promise<void> {
        this.server?.closeAllConnections();
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

/** The mesh's proxyless gRPC client, driven over its control socket. */
import { ChildProcess } from "child_process";
import type { BatchResult, LoadEvent } from "./client";
import { socketRequest } from "./process";

/** The share of `track` in a batch's successful responses (0..1). */
export function share(r: BatchResult, track: string): number {
    return r.ok === 0 ? 0 : (r.byTrack[track] ?? 0) / r.ok;
}

export class MeshClient {
    private readonly exited: Promise<void>;
    constructor(
        readonly name: string,
        private readonly proc: ChildProcess,
        private readonly socket: string,
        /** The client's xDS node id. */
        readonly nodeId: string,
        readonly logFile: string,
    ) {
        this.exited = new Promise((r) => proc.once("exit", () => r()));
    }

    /** Sends `n` requests, `concurrency` at a time, with the given gRPC metadata; counts where they went. */
    batch(n: number, opts: { concurrency?: number; metadata?: Record<string, string> } = {}): Promise<BatchResult> {
        return socketRequest(this.socket, "POST", "/batch", {
            n,
            concurrency: opts.concurrency ?? 8,
            metadata: opts.metadata ?? {},
        });
    }

    /** Sends requests continuously at `rps` until {@link stopLoad}; every response is kept as a {@link LoadEvent}. */
    async startLoad(rps: number, metadata: Record<string, string> = {}): Promise<void> {
        await socketRequest(this.socket, "POST", "/load", { rps, metadata });
    }

    async stopLoad(): Promise<void> {
        await socketRequest(this.socket, "DELETE", "/load");
    }

    /** Responses to requests sent at or after `sinceEpochMs`, in the order they completed. */
    events(sinceEpochMs: number): Promise<LoadEvent[]> {
        return socketRequest(this.socket, "GET", `/events?since=${Math.floor(sinceEpochMs)}`);
    }

    /**
     * Sends single requests until one succeeds (the client has listener, routes, clusters and endpoints from istiod
     * and a TLS connection to a backend); throws with the last error after `timeoutMs`.
     */
    async waitRouted(timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last: BatchResult | undefined;
        while (Date.now() < deadline) {
            last = await this.batch(1, { concurrency: 1 });
            if (last.ok === 1) {
                return;
            }
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(
            `mesh client ${this.name} got no routed response in ${timeoutMs} ms: ${JSON.stringify(last?.errors)} (log ${this.logFile})`,
        );
    }

    async stop(): Promise<void> {
        if (this.proc.exitCode === null && this.proc.signalCode === null) {
            this.proc.kill("SIGTERM");
        }
        await this.exited;
    }
}

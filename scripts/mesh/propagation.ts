/**
 * xDS propagation, measured with real requests: how long after a `pulumi up` that moves all traffic from one track
 * to the other does the first request arrive that istiod's new routes sent to the new track?
 *
 * The client sends requests continuously (default 200 per second, so the resolution is about 5 ms) while the up
 * runs; a watch on the VirtualService records when the API server stored the new route. The first request of the
 * final, unbroken run of responses from the new track is "the first request routed by the new weights".
 */
import { KubeClient } from "./kube";
import { LoadEvent, MeshClient } from "./mesh";
import { median } from "./stats";

export interface Propagation {
    /** Duration of the up itself. */
    upMs: number;
    /** From the end of the up to the first request routed to the new track (negative: istiod was faster). */
    upEndToRoutedMs: number;
    /** From the API server storing the new VirtualService (watch event) to that request. */
    writeToRoutedMs: number;
    /** Requests that failed during the measurement. */
    errors: number;
}

/** The send time of the first request of the final unbroken run of `track` responses, if that run is long enough. */
export function firstOfFinalRun(events: LoadEvent[], track: string, minRun = 20): number | undefined {
    const sorted = [...events].filter((e) => e[2] === 0).sort((a, b) => a[0] - b[0]);
    let i = sorted.length;
    while (i > 0 && sorted[i - 1][1] === track) {
        i--;
    }
    return sorted.length - i >= minRun ? sorted[i]?.[0] : undefined;
}

/**
 * Runs `up` (which must move every request of the default route to `toTrack`: a shift 0 -> 100 or 100 -> 0) under
 * continuous load from `client` and measures how long the new routes took to reach the client.
 */
export async function measureShift(opts: {
    client: MeshClient;
    up: () => Promise<unknown>;
    toTrack: string;
    namespace: string;
    virtualService: string;
    rps?: number;
    timeoutMs?: number;
}): Promise<Propagation> {
    const kube = new KubeClient();
    let writtenAt: number | undefined;
    let armed = false;
    const stopWatch = kube.watch<{ metadata: { resourceVersion?: string; name?: string } }>(
        `/apis/networking.istio.io/v1/namespaces/${opts.namespace}/virtualservices?fieldSelector=${encodeURIComponent(`metadata.name=${opts.virtualService}`)}`,
        (ev) => {
            if (armed && ev.type === "MODIFIED" && writtenAt === undefined) {
                writtenAt = Date.now();
            }
        },
    );
    try {
        // Let the watch's initial list pass before the up starts.
        await new Promise((r) => setTimeout(r, 300));
        armed = true;
        await opts.client.startLoad(opts.rps ?? 200);
        const t0 = Date.now();
        await opts.up();
        const tEnd = Date.now();
        const deadline = tEnd + (opts.timeoutMs ?? 30_000);
        for (;;) {
            const events = await opts.client.events(t0);
            const routedAt = firstOfFinalRun(events, opts.toTrack);
            if (routedAt !== undefined && writtenAt !== undefined) {
                return {
                    upMs: tEnd - t0,
                    upEndToRoutedMs: routedAt - tEnd,
                    writeToRoutedMs: routedAt - writtenAt,
                    errors: events.filter((e) => e[2] !== 0).length,
                };
            }
            if (Date.now() > deadline) {
                throw new Error(
                    `no unbroken run of ${opts.toTrack} responses ${opts.timeoutMs ?? 30_000} ms after the up ` +
                        `(VirtualService write ${writtenAt === undefined ? "not seen" : "seen"}; ${events.length} responses)`,
                );
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    } finally {
        await opts.client.stopLoad();
        stopWatch();
        kube.close();
    }
}

/** Median of each field over several measurements. */
export function medianPropagation(ms: Propagation[]): Propagation {
    return {
        upMs: median(ms.map((m) => m.upMs)),
        upEndToRoutedMs: median(ms.map((m) => m.upEndToRoutedMs)),
        writeToRoutedMs: median(ms.map((m) => m.writeToRoutedMs)),
        errors: median(ms.map((m) => m.errors)),
    };
}

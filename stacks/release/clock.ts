/** Time for the release bot: the system clock, or a fake in tests. */

/** Sleeps and tells the time; a fake in tests. */
export interface Clock {
    now(): Date;
    /** Sleeps `ms`; returns early (without throwing) when `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
    /**
     * Calls `fn` every `ms` until the returned function is called (the release lease's renew timer). Without it, an
     * unref'd interval of the system's timers.
     */
    every?(ms: number, fn: () => Promise<void>): () => void;
}

export const systemClock: Clock = {
    now: () => new Date(),
    sleep: (ms, signal) =>
        new Promise((resolve) => {
            if (signal?.aborted) {
                resolve();
                return;
            }
            const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener("abort", done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            signal?.addEventListener("abort", done, { once: true });
        }),
};

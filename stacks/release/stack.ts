/**
 * What the release bot needs from a Pulumi stack. The Automation API implements it (automation.ts); unit tests
 * use an in-memory fake. Config keys are those of the program's namespace, without the `istio-canary:` prefix.
 */

/** Another update holds the stack (the engine's ConcurrentUpdateError): nothing was changed. */
export class StackLockedError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackLockedError";
    }
}

/** What an update changed. */
export interface UpSummary {
    /** Counts per operation: create, update, replace, delete, same. */
    resourceChanges: Record<string, number>;
    durationMs: number;
}

export interface StackDriver {
    /** Stack name, for messages and reports. */
    readonly name: string;
    /** Our config keys and values (secrets decrypted), and which of them are secrets. */
    getConfig(): Promise<{ values: Record<string, string>; secretKeys: Set<string> }>;
    /** Sets keys, and removes those whose value is undefined. */
    setConfig(changes: Record<string, string | undefined>): Promise<void>;
    /**
     * Runs `pulumi up` (with `targets`, only those URNs). Streams engine output to `onOutput`.
     * Throws {@link StackLockedError} when another update holds the stack.
     */
    up(opts?: { targets?: string[]; onOutput?: (line: string) => void; message?: string }): Promise<UpSummary>;
    /** URN of the VirtualService, for a targeted (fast) rollback; undefined if not deployed yet. */
    routingUrn(): Promise<string | undefined>;
}

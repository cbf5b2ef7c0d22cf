/**
 * The port through which the release bot and promotion drive a Pulumi stack. The Automation API implements it
 * (local-stack.ts); unit tests use an in-memory fake. Config keys are those of the program's namespace, without
 * the `istio-canary:` prefix.
 */
import { ConfigChanges } from "../../config/release-state";

/** Another update holds the stack (the engine's ConcurrentUpdateError): nothing was changed. */
export class StackLockedError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackLockedError";
    }
}

/** The stack does not exist on the current backend. */
export class StackNotFoundError extends Error {
    constructor(
        readonly stack: string,
        message: string,
    ) {
        super(message);
        this.name = "StackNotFoundError";
    }
}

/** What an update changed. */
export interface UpSummary {
    /** Counts per operation: create, update, replace, delete, same. */
    resourceChanges: Record<string, number>;
    durationMs: number;
}

/** Options of one update. */
export interface UpOptions {
    /** Only these URNs. */
    targets?: string[];
    /** Engine output, line by line. */
    onOutput?: (line: string) => void;
    /** The update's message in `pulumi stack history`. */
    message?: string;
    /**
     * Policy packs to run (directories with PulumiPolicy.yaml; relative ones from the project directory). A
     * mandatory violation fails the update with the policies' messages.
     */
    policyPacks?: string[];
    /** Their configuration files (`--policy-pack-config`), relative ones from the project directory. */
    policyPackConfigs?: string[];
}

/** Our config: values (secrets decrypted) and which keys are secrets. */
export interface StackConfig {
    values: Record<string, string>;
    secretKeys: Set<string>;
}

export interface StackDriver {
    /** Stack name, for messages and reports. */
    readonly name: string;
    /** Our config keys and values (secrets decrypted), and which of them are secrets. */
    getConfig(): Promise<StackConfig>;
    /** Sets keys, and removes those whose value is undefined. */
    setConfig(changes: ConfigChanges): Promise<void>;
    /**
     * Runs `pulumi up`. Throws {@link StackLockedError} when another update holds the stack.
     */
    up(opts?: UpOptions): Promise<UpSummary>;
    /** URN of the VirtualService, for a targeted (fast) rollback; undefined if not deployed yet. */
    routingUrn(): Promise<string | undefined>;
}

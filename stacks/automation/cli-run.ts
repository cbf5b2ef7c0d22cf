/**
 * The two stack operations the bot (and the tests' and the demo's stacks) run most, each as one Pulumi CLI call.
 *
 * The Automation API's `Stack.up()` runs three more CLI calls after the update (`stack output` twice and
 * `stack history`) for outputs and a summary the bot does not read from it, and `Stack.outputs()` runs
 * `stack output` twice (once masked, to tell which outputs are secret). Every CLI call costs about 0.6 s of CPU
 * on the machines of FACTS.md (0.24 s of it deriving the passphrase's key), and an update is what a traffic shift
 * and a rollback wait for. Here the update's resource changes come from the engine's summary event in its event
 * log, and outputs from one `--show-secrets` call (the bot uses the values only).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, LocalWorkspace, OpMap, Stack } from "@pulumi/pulumi/automation";

/** What one `pulumi up` is asked to do. */
export interface CliUpOptions {
    /** The update's message in `pulumi stack history`. */
    message?: string;
    /** Only these URNs. */
    targets?: string[];
    /** Read the live objects first (`--refresh`), so what changed outside Pulumi is put back. */
    refresh?: boolean;
    /** Absolute paths of policy packs. */
    policyPacks?: string[];
    /** Absolute paths of policy pack config files. */
    policyPackConfigs?: string[];
    /** Apply exactly this saved plan. */
    plan?: string;
    /** Engine output, as it comes. */
    onOutput?: (text: string) => void;
    /** Every engine event of the update, in order (read from the event log once the CLI has exited). */
    onEvent?: (e: EngineEvent) => void;
}

/** The arguments of `pulumi up` for these options, writing engine events to `eventLog` (without `--stack`). */
export function upArgs(opts: CliUpOptions, eventLog: string): string[] {
    const args = ["up", "--yes", "--skip-preview"];
    if (opts.refresh === true) {
        args.push("--refresh");
    }
    if (opts.message !== undefined) {
        args.push("--message", opts.message);
    }
    for (const [flag, values] of [
        ["--target", opts.targets],
        ["--policy-pack", opts.policyPacks],
        ["--policy-pack-config", opts.policyPackConfigs],
    ] as const) {
        for (const value of values ?? []) {
            args.push(flag, value);
        }
    }
    if (opts.plan !== undefined) {
        args.push("--plan", opts.plan);
    }
    args.push("--exec-kind", "auto.local", "--event-log", eventLog);
    return args;
}

/** The engine events in an event log's text (one JSON object per line; a cut last line is left out). */
export function eventsOf(text: string): EngineEvent[] {
    const events: EngineEvent[] = [];
    for (const line of text.split("\n")) {
        try {
            events.push(JSON.parse(line) as EngineEvent);
        } catch {
            // an empty line, or the last one cut short when the CLI was killed
        }
    }
    return events;
}

/** The resource changes the engine's summary event counts (undefined when the update ended before it). */
export function summaryChangesOf(events: EngineEvent[]): OpMap | undefined {
    return events.find((e) => e.summaryEvent !== undefined)?.summaryEvent?.resourceChanges;
}

/** A Pulumi CLI call that exited non-zero; `locked` when another update held the stack. */
export class PulumiCliError extends Error {
    constructor(
        readonly code: number | null,
        readonly stdout: string,
        readonly stderr: string,
    ) {
        super(`pulumi exited with code ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
        this.name = "PulumiCliError";
    }

    /** The CLI's own words for a held lock (the backend's update lock, on the DIY and the Cloud backends). */
    get locked(): boolean {
        return /the stack is currently locked by|\[409\] Conflict: Another update is currently in progress/.test(
            this.stderr,
        );
    }
}

/** Runs the workspace's CLI on `stack` as the Automation API does (non-interactive, its environment). */
function runCli(stack: Stack, args: string[], onOutput?: (text: string) => void): Promise<string> {
    const ws = stack.workspace;
    if (!(ws instanceof LocalWorkspace)) {
        throw new Error(`stack ${stack.name}: expected a local workspace`);
    }
    const command = ws.pulumiCommand.command;
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PULUMI_DEBUG_COMMANDS: "true",
        ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}),
        ...ws.envVars,
        PULUMI_AUTOMATION_API: "true",
    };
    if (path.isAbsolute(command)) {
        env.PATH = `${path.dirname(command)}${path.delimiter}${env.PATH ?? ""}`;
    }
    return new Promise((resolve, reject) => {
        const child = spawn(command, [...args, "--stack", stack.name, "--non-interactive"], { cwd: ws.workDir, env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
            onOutput?.(d.toString());
        });
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new PulumiCliError(code, stdout, stderr))));
    });
}

/**
 * Runs `pulumi up` on `stack` in one CLI call and returns its resource changes. Throws {@link PulumiCliError}
 * when the CLI fails, after `onEvent` has seen every event the update logged.
 */
export async function upOnce(stack: Stack, opts: CliUpOptions): Promise<OpMap | undefined> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-up-"));
    const eventLog = path.join(dir, "events.jsonl");
    let events: EngineEvent[] = [];
    try {
        await runCli(stack, upArgs(opts, eventLog), opts.onOutput);
    } finally {
        events = eventsOf(fs.existsSync(eventLog) ? fs.readFileSync(eventLog, "utf8") : "");
        fs.rmSync(dir, { recursive: true, force: true });
        events.forEach((e) => opts.onEvent?.(e));
    }
    return summaryChangesOf(events);
}

/** The stack's outputs as plain values (secrets decrypted), by one CLI call; empty when never deployed. */
export async function outputsOnce(stack: Stack): Promise<Record<string, unknown>> {
    return JSON.parse(await runCli(stack, ["stack", "output", "--json", "--show-secrets"])) as Record<string, unknown>;
}

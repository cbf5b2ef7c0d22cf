/**
 * What every command-line tool shares: a small, strict flag parser (every flag declared with its help text;
 * unknown flags are errors), the report printer and the entry-point runner.
 */
import { redactUrl } from "../../components/redact";
import { LABEL_VALUE, PRINTABLE, VERSION_ACCEPTS } from "../../components/validation";
import { STACK_NAME_PATTERN } from "../../config/release-state";
import { PulumiCliMissingError, StackNotFoundError } from "../automation/driver";
import { CONFIG_SOURCES, ConfigSource } from "../release/origin";
import { EXIT_CODES, PreflightError, ReleaseResult } from "../release/result";
import { writeReport } from "../release/report";

/** Errors a tool reports in one line (exit code 2: nothing changed), rather than as a crash. */
export function expectedError(e: unknown): boolean {
    return e instanceof PreflightError || e instanceof StackNotFoundError || e instanceof PulumiCliMissingError;
}

/**
 * An AbortSignal that SIGTERM and SIGINT abort: the bot stops waiting, leaves the release resumable, writes its
 * report and exits "interrupted". A second signal ends the process at once.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    const onSignal = (name: NodeJS.Signals) => {
        if (controller.signal.aborted) {
            process.exit(EXIT_CODES.interrupted);
        }
        process.stderr.write(`${name}: stopping after the current step; the release stays resumable (--resume)\n`);
        controller.abort();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    return {
        signal: controller.signal,
        dispose: () => {
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
        },
    };
}

export interface FlagSpec {
    name: string;
    /** "value" flags take an argument (`--x v` or `--x=v`); "switch" flags do not. */
    kind: "value" | "switch";
    /** Argument placeholder shown in help, e.g. "<name>". */
    arg?: string;
    help: string;
    /** What the value must be (checked by parseArgs); a flag without one is checked where it is used. */
    grammar?: FlagGrammar;
}

/** A value flag's grammar: the words of its message, and the check that matches them. */
export interface FlagGrammar {
    accepts: string;
    valid: (value: string) => boolean;
}

/** A stack: "dev", or "org/project/dev" (Pulumi's fully qualified name). */
export const STACK_NAME: FlagGrammar = {
    accepts: 'a stack name such as "dev" or "org/project/dev" (letters, digits, "-", "_" and ".", at most 3 parts)',
    valid: (v) => STACK_NAME_PATTERN.test(v),
};

/** A directory or a file on this machine. */
export const LOCAL_PATH: FlagGrammar = {
    accepts: "a path (no control characters, at most 4096)",
    valid: (v) => v.length <= 4096 && PRINTABLE.test(v),
};

/** A label value: a release's version. */
export const VERSION_LABEL: FlagGrammar = { accepts: VERSION_ACCEPTS, valid: (v) => LABEL_VALUE.test(v) };

/** The `--config-from` flag of the tools that release: which side wins when checkout and deployed disagree. */
export function configFromFlag(help: string): FlagSpec {
    return { name: "config-from", kind: "value", arg: CONFIG_SOURCES.join("|"), help };
}

/** The value of `--config-from`, checked. */
export function configFrom(values: Record<string, string>): ConfigSource | undefined {
    const side = values["config-from"];
    if (side !== undefined && !(CONFIG_SOURCES as readonly string[]).includes(side)) {
        throw new UsageError(`--config-from must be one of ${CONFIG_SOURCES.join(", ")}; got ${JSON.stringify(side)}`);
    }
    return side as ConfigSource | undefined;
}

/** A usage error: the message names the flag and what it accepts. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export interface ParsedArgs {
    values: Record<string, string>;
    switches: Set<string>;
}

/**
 * The flags of `argv`: each at most once (a repeated flag is an error, not the last one winning), every value
 * flag with a value that is not empty and, where the flag declares a grammar, within it.
 */
export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const values: Record<string, string> = {};
    const switches = new Set<string>();
    const seen = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
        if (!m) {
            throw new UsageError(`unexpected argument ${JSON.stringify(shown(arg))}; flags start with --, see --help`);
        }
        const spec = byName.get(m[1]);
        if (spec === undefined) {
            throw new UsageError(`unknown flag --${m[1]}; see --help for the flags`);
        }
        if (seen.has(spec.name)) {
            throw new UsageError(`--${spec.name} is given twice; give it once`);
        }
        seen.add(spec.name);
        if (spec.kind === "switch") {
            if (m[2] !== undefined) {
                throw new UsageError(`--${spec.name} takes no value`);
            }
            switches.add(spec.name);
            continue;
        }
        const value = m[2] ?? argv[++i];
        if (value === undefined || (m[2] === undefined && value.startsWith("--"))) {
            throw new UsageError(`--${spec.name} needs a value ${spec.arg ?? ""}`.trim());
        }
        if (value.trim() === "") {
            throw new UsageError(`--${spec.name} needs a value ${spec.arg ?? ""}, not an empty one`.replace("  ", " "));
        }
        if (spec.grammar !== undefined && !spec.grammar.valid(value)) {
            throw new UsageError(`--${spec.name} must be ${spec.grammar.accepts}; got ${JSON.stringify(shown(value))}`);
        }
        values[spec.name] = value;
    }
    return { values, switches };
}

/** A value as a message quotes it: any URL's credentials redacted, cut at 200 characters. */
function shown(value: string): string {
    const v = redactUrl(value);
    return v.length > 200 ? `${v.slice(0, 197)}...` : v;
}

/** Help text: usage line, then one line per flag. */
export function helpText(usage: string, intro: string, specs: FlagSpec[]): string {
    const left = (s: FlagSpec) => `--${s.name}${s.arg ? ` ${s.arg}` : ""}`;
    const width = Math.max(...specs.map((s) => left(s).length)) + 2;
    return [
        `Usage: ${usage}`,
        "",
        intro,
        "",
        "Flags:",
        ...specs.map((s) => `  ${left(s).padEnd(width)}${s.help}`),
        "",
    ].join("\n");
}

/** Exit code of a command that failed unexpectedly (distinct from every outcome). */
export const CRASH_EXIT_CODE = EXIT_CODES.crash;

/** Prints a line of the engine's output (of each update), any URL's credentials redacted. */
export function printEngineLine(line: string): void {
    process.stdout.write(`    | ${redactUrl(line)}`);
}

/** Writes the report and prints the outcome; a report that cannot be written does not change the exit code. */
export function reportOutcome(result: ReleaseResult, dir: string, headline: string): void {
    process.stdout.write(`${result.dryRun ? "dry run (nothing changed): " : ""}${redactUrl(headline)}\n`);
    try {
        process.stdout.write(`report: ${writeReport(result, dir).markdown}\n`);
    } catch (e) {
        process.stderr.write(`warning: the report could not be written to ${dir}: ${(e as Error).message}\n`);
    }
}

/** Runs a command's `main` when its file is executed directly, exiting with its code (5 on a crash). */
export function runMain(mod: NodeJS.Module, main: (argv: string[]) => Promise<number>): void {
    if (require.main !== mod) {
        return;
    }
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
            process.exit(CRASH_EXIT_CODE);
        },
    );
}

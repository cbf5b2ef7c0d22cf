/**
 * A typed reader of stack config. Each read declares its key once (name, accepted values, default, doc, the Args
 * field or CLI flag it feeds); the declarations drive parsing, messages, "did you mean" and the README reference.
 *
 * Pure: it takes the raw map of our keys (without the `istio-canary:` namespace, see namespace.ts) and the set of
 * keys stored as secrets, and records every problem instead of stopping at the first.
 */
import * as os from "os";
import { RunError } from "@pulumi/pulumi";
import {
    describeProblems,
    DURATION,
    DURATION_ACCEPTS,
    IntLimits,
    inIntRange,
    intRange,
    isDuration,
    PRINTABLE,
} from "../components/validation";
import { Redactor, secretParts } from "../components/redact";
import { Values } from "../components/values";
import { Grammar, hasProtoField, parseJson } from "./grammar";
import { qualify } from "./namespace";

export type { Grammar } from "./grammar";

/** One documented config key. */
export interface KeySpec {
    key: string;
    /** What the key accepts, as used in error messages ("an integer from 0 to 100"). */
    accepts: string;
    /** Default shown in the reference; undefined for required keys, "none" for optional ones. */
    default?: string;
    doc: string;
    group: string;
    secret?: boolean;
    /** The component Args field the key fills, where its name differs from the key (messages name the key). */
    field?: string;
    /** The release bot's command-line flag that overrides the key, if any. */
    flag?: FlagDeclaration;
}

/** A command-line flag of the release bot that overrides a config key. */
export interface FlagDeclaration {
    /** Flag name without the dashes. */
    name: string;
    /** Placeholder of its value in help ("<n>"); none for a switch (a boolean key). */
    arg?: string;
    /** The flag names a file whose content is the key's value. */
    file?: boolean;
}

/**
 * Thrown for invalid stack config; the message lists every problem, one per line. A RunError, so the Pulumi CLI
 * prints the message without a stack trace.
 */
export class ConfigError extends RunError {
    constructor(public readonly problems: string[]) {
        super(describeProblems(problems));
        this.name = "ConfigError";
    }
}

/** What every read takes besides the key. */
export interface KeyOptions {
    doc: string;
    /** The Args field the key fills, when its name differs from the key. */
    field?: string;
    /** The release bot's flag that overrides the key. */
    flag?: FlagDeclaration;
}

interface StringOptions extends KeyOptions, Grammar {
    def?: string;
    /** Default as shown in the reference, when it is not a literal ("the app name"). */
    shown?: string;
}

/** Secret values shorter than this are not searched for in messages (messages never quote them anyway). */
const MIN_SECRET_SHOWN = 4;

/** Reads typed values from the raw map, recording each key's spec and each problem. */
export class Reader {
    readonly problems: string[] = [];
    /** Findings that do not block (e.g. webhooks without a signature). */
    readonly warnings: string[] = [];
    readonly specs: KeySpec[] = [];
    /** The README section the next keys belong to. */
    group = "";

    constructor(
        private readonly raw: Record<string, string>,
        private readonly secretKeys: ReadonlySet<string> = new Set(),
    ) {}

    private declare(key: string, accepts: string, def: string | undefined, o: KeyOptions, secret = false) {
        this.specs.push({
            key,
            accepts,
            default: def,
            doc: o.doc,
            group: this.group,
            secret,
            field: o.field,
            flag: o.flag,
        });
        const value = this.raw[key];
        return value === "" ? undefined : value;
    }

    /** Records the standard problem for `key` and returns undefined. */
    bad(key: string, accepts: string, raw: string): undefined {
        this.problems.push(`${key} must be ${accepts}; got ${this.shown(key, raw)}`);
        return undefined;
    }

    /** True when `key` was set with `--secret`. */
    isSecret(key: string): boolean {
        return this.secretKeys.has(key);
    }

    /**
     * How a message quotes the value `raw` of `key`: never the value of a key set with `--secret`; a long value
     * cut at 200 characters.
     */
    shown(key: string, raw: string): string {
        return this.secretKeys.has(key)
            ? "a secret value (not shown)"
            : JSON.stringify(raw.length > 200 ? `${raw.slice(0, 197)}...` : raw);
    }

    /**
     * `texts` (problems, warnings) without any part of a value set with `--secret` (the value, the strings of a
     * JSON value, the tokens of a URL) and without any URL's credentials: what a message may show.
     */
    redact(texts: string[]): string[] {
        const redactor = new Redactor(
            Object.keys(this.raw)
                .filter((k) => this.secretKeys.has(k))
                .flatMap((k) => secretParts(this.raw[k]))
                .filter((part) => part.length >= MIN_SECRET_SHOWN),
            this.specs.map((spec) => spec.key),
        );
        return texts.map((t) => redactor.text(t));
    }

    string(key: string, o: StringOptions): string | undefined {
        const raw = this.declare(key, o.accepts, o.shown ?? o.def ?? "none", o);
        return raw === undefined ? o.def : this.check(key, o, raw);
    }

    required(key: string, o: KeyOptions & Grammar): string | undefined {
        const raw = this.declare(key, o.accepts, undefined, o);
        if (raw === undefined) {
            this.problems.push(`${key} is required: set it to ${o.accepts} with \`pulumi config set ${key} <value>\``);
            return undefined;
        }
        return this.check(key, o, raw);
    }

    /** `raw` when it is in the grammar, else the standard problem. */
    private check(key: string, g: Grammar, raw: string): string | undefined {
        return g.pattern.test(raw) && (g.valid?.(raw) ?? true) ? raw : this.bad(key, g.accepts, raw);
    }

    private parseInt(key: string, raw: string, limits: Required<IntLimits>): number | undefined {
        // Decimal digits only: no sign, space, leading zero, exponent or fraction ("1e3", "010", " 5").
        const n = /^(0|[1-9]\d{0,15})$/.test(raw) ? Number(raw) : NaN;
        return inIntRange(n, limits) ? n : this.bad(key, intRange(limits), raw);
    }

    /** An integer within `limits`, else `def`. */
    int(key: string, o: KeyOptions & { limits: Required<IntLimits>; def: number }): number {
        const raw = this.declare(key, intRange(o.limits), String(o.def), o);
        return raw === undefined ? o.def : (this.parseInt(key, raw, o.limits) ?? o.def);
    }

    /** An integer within `limits`, or undefined when unset. */
    optionalInt(key: string, o: KeyOptions & { limits: Required<IntLimits> }): number | undefined {
        const raw = this.declare(key, intRange(o.limits), "none", o);
        return raw === undefined ? undefined : this.parseInt(key, raw, o.limits);
    }

    number(key: string, o: KeyOptions & { min: number; max: number; def: number }): number {
        const accepts = `a number from ${o.min} to ${o.max} (decimal digits, at most 6 after the point)`;
        const raw = this.declare(key, accepts, String(o.def), o);
        if (raw === undefined) {
            return o.def;
        }
        const n = /^(0|[1-9]\d{0,15})(\.\d{1,6})?$/.test(raw) ? Number(raw) : NaN;
        return n >= o.min && n <= o.max ? n : (this.bad(key, accepts, raw) ?? o.def);
    }

    bool(key: string, o: KeyOptions & { def: boolean }): boolean {
        const accepts = "true or false";
        const raw = this.declare(key, accepts, String(o.def), o);
        if (raw === undefined) {
            return o.def;
        }
        return raw === "true" || raw === "false" ? raw === "true" : (this.bad(key, accepts, raw) ?? o.def);
    }

    /** true or false, or undefined when unset (the caller derives it; `shown` says how, for the reference). */
    optionalBool(key: string, o: KeyOptions & { shown: string }): boolean | undefined {
        const accepts = "true or false";
        const raw = this.declare(key, accepts, o.shown, o);
        if (raw === undefined) {
            return undefined;
        }
        return raw === "true" || raw === "false" ? raw === "true" : this.bad(key, accepts, raw);
    }

    oneOf<T extends string>(key: string, o: KeyOptions & { values: readonly T[]; def?: T }): T | undefined {
        const accepts = `one of ${o.values.join(", ")}`;
        const raw = this.declare(key, accepts, o.def ?? "none", o);
        if (raw === undefined) {
            return o.def;
        }
        return (o.values as readonly string[]).includes(raw) ? (raw as T) : this.bad(key, accepts, raw);
    }

    /** A filesystem path (of a directory or a file); a leading "~/" is the user's home directory. */
    path(key: string, o: KeyOptions & { kind: "directory" | "file" }): string | undefined {
        const value = this.string(key, {
            ...o,
            accepts: `a ${o.kind} path (no control characters, at most 4096; a leading "~/" is the home directory)`,
            pattern: PRINTABLE,
            valid: (v) => v.length <= 4096,
        });
        return value?.startsWith("~/") ? os.homedir() + value.slice(1) : value;
    }

    /** A duration: Istio's grammar from 1ms to 24h, unless the key gives its own. */
    duration(key: string, o: KeyOptions & Partial<Grammar> & { def?: string }): string | undefined {
        const istio =
            o.pattern === undefined ? { pattern: DURATION, accepts: DURATION_ACCEPTS, valid: isDuration } : {};
        return this.string(key, { ...istio, ...o } as StringOptions);
    }

    /**
     * A list: a JSON array of strings (`pulumi config set --path 'key[0]' x`) or a comma-separated string (spaces
     * around the commas ignored); every item in `item`'s grammar, none empty, none twice.
     */
    list(
        key: string,
        o: KeyOptions & {
            required: boolean;
            accepts: string;
            item: Grammar;
            refuse?: (item: string) => string | undefined;
        },
    ): string[] | undefined {
        const raw = this.declare(key, o.accepts, o.required ? undefined : "none", o);
        if (raw === undefined) {
            if (o.required) {
                this.problems.push(
                    `${key} is required: set it to ${o.accepts} with \`pulumi config set ${key} <value>\``,
                );
            }
            return undefined;
        }
        const parsed = raw.trim().startsWith("[") ? parseJson(raw) : raw.split(",").map((s) => s.trim());
        const items = Array.isArray(parsed) && parsed.every((x) => typeof x === "string") ? parsed : undefined;
        const refused = items?.map((x) => o.refuse?.(x)).find((m) => m !== undefined);
        if (refused !== undefined) {
            this.problems.push(refused);
            return undefined;
        }
        const ok =
            items !== undefined &&
            items.length > 0 &&
            new Set(items).size === items.length &&
            items.every((x) => o.item.pattern.test(x) && (o.item.valid?.(x) ?? true));
        return ok ? items : this.bad(key, o.accepts, raw);
    }

    /**
     * A JSON object (`pulumi config set --path key.a.b value`, or a JSON string): with `entries`, a flat object
     * whose field names and string values are in their grammars. A field named "__proto__" is refused at any depth
     * (JavaScript would drop it, or take it for the object's prototype).
     */
    object(
        key: string,
        o: KeyOptions & { accepts?: string; entries?: { names: Grammar; values: Grammar; nonEmpty: boolean } },
    ): Values | undefined {
        const accepts = o.accepts ?? 'a JSON object (no field named "__proto__")';
        const raw = this.declare(key, accepts, "none", o);
        if (raw === undefined) {
            return undefined;
        }
        const parsed = parseJson(raw);
        const e = o.entries;
        const ok =
            typeof parsed === "object" &&
            parsed !== null &&
            !Array.isArray(parsed) &&
            !hasProtoField(parsed) &&
            (e === undefined ||
                ((!e.nonEmpty || Object.keys(parsed).length > 0) &&
                    Object.entries(parsed).every(
                        ([k, v]) =>
                            e.names.pattern.test(k) &&
                            (e.names.valid?.(k) ?? true) &&
                            typeof v === "string" &&
                            e.values.pattern.test(v) &&
                            (e.values.valid?.(v) ?? true),
                    )));
        return ok ? (parsed as Values) : this.bad(key, accepts, raw);
    }

    /** A JSON value checked by `valid`; the raw text is quoted in the message. */
    json<T>(key: string, o: KeyOptions & { accepts: string; valid: (x: unknown) => x is T }): T | undefined {
        const raw = this.declare(key, o.accepts, "none", o);
        if (raw === undefined) {
            return undefined;
        }
        const parsed = parseJson(raw);
        return !hasProtoField(parsed) && o.valid(parsed) ? parsed : this.bad(key, o.accepts, raw);
    }

    /**
     * A value that must be stored as a Pulumi secret (`pulumi config set --secret`), in `pattern`'s grammar and not
     * blank. Never quoted in messages.
     */
    secret(key: string, o: KeyOptions & Grammar): string | undefined {
        const raw = this.declare(key, o.accepts, "none", o, true);
        if (this.raw[key] !== undefined && this.raw[key].trim() === "") {
            this.problems.push(
                `${key} is set but blank: set it to ${o.accepts} with \`pulumi config set --secret ${key} <value>\`, ` +
                    `or remove it with \`pulumi config rm ${key}\``,
            );
            return undefined;
        }
        if (raw !== undefined && !o.pattern.test(raw)) {
            this.problems.push(`${key} must be ${o.accepts}; got a secret value (not shown)`);
            return undefined;
        }
        if (raw !== undefined && !this.secretKeys.has(key)) {
            this.problems.push(
                `${key} must be set as a secret so it is encrypted in the stack file and state: ` +
                    `\`pulumi config set --secret ${key} -- "$(cat file.pem)"\``,
            );
        }
        return raw;
    }

    /** Problems for keys of our namespace that no read declared, with the nearest declared key. */
    unknownKeys(): string[] {
        const known = new Set(this.specs.map((s) => s.key));
        return Object.keys(this.raw)
            .filter((k) => !known.has(k))
            .sort()
            .map((k) => {
                const near = [...known].find((c) => editDistance(c.toLowerCase(), k.toLowerCase()) <= 2);
                return (
                    `${qualify(k)} is not a config key of this program` +
                    (near ? `; did you mean ${near}?` : "") +
                    " (see the config reference in README.md)"
                );
            });
    }

    /**
     * Names the fields of one Args object (`scope`: "release", "mesh") by the keys that fill them, for the
     * components' messages. A key declares `field: "<scope>.<path>"` where its name differs from the field; a
     * field filled by several keys (`canary`: `canary.image`, `canary.version`) is named by all of them.
     */
    fieldNamer(scope: string): (field: string) => string {
        return (field) => {
            const full = `${scope}.${field}`;
            const exact = this.specs.filter((s) => s.field === full);
            if (exact.length > 0) {
                return exact.map((s) => s.key).join(" and ");
            }
            if (this.specs.some((s) => s.key === field && s.field === undefined)) {
                return field;
            }
            const parts = this.specs.filter((s) => s.field?.startsWith(`${full}.`));
            return parts.length > 0 ? parts.map((s) => s.key).join(" and ") : field;
        };
    }
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
    // Row i starts as [i]; every other cell is written before it is read (d[0][j] by the first loop).
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) {
        d[0][j] = j;
    }
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

/**
 * The one home of redaction: what this package prints, reports, writes to stack config or exports never shows a
 * credential.
 * - {@link redactUrl}: every URL in a text loses its user information, query values and fragment ("***"),
 *   wherever the URL starts in the text (a URL in another's query included).
 * - {@link originOf}: scheme://host[:port] of an endpoint the user configured (Prometheus, the load, a hook),
 *   whose path may itself be a token (https://hooks.example.com/services/T000/B000/XXXX).
 * - {@link Redactor}: known secret values (tokens, passwords, the hook secret, the values of config keys set with
 *   `--secret`, the long path segments and query values of configured endpoints) replaced by "***", then
 *   {@link redactUrl}.
 */

/** What a redacted part reads as. */
export const REDACTED = "***";

/** A URL in free text: a scheme, "://", then anything up to whitespace or a quote. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** The text of a URL after its "scheme://": user information, query values and fragment redacted. */
function redactAfterScheme(rest: string): string {
    // Punctuation that ends a sentence or a parenthesis is not part of the URL.
    const tail = /[).,;:!]+$/.exec(rest)?.[0] ?? "";
    const url = rest.slice(0, rest.length - tail.length);
    const authorityEnd = url.search(/[/?#]/);
    const authority = authorityEnd < 0 ? url : url.slice(0, authorityEnd);
    let after = authorityEnd < 0 ? "" : url.slice(authorityEnd);
    const at = authority.lastIndexOf("@");
    const host = at < 0 ? authority : `${REDACTED}@${authority.slice(at + 1)}`;
    const hash = after.indexOf("#");
    const fragment = hash < 0 ? "" : after.slice(hash + 1);
    after = hash < 0 ? after : after.slice(0, hash);
    const q = after.indexOf("?");
    const path = q < 0 ? after : after.slice(0, q);
    const query =
        q < 0
            ? ""
            : `?${after
                  .slice(q + 1)
                  .split("&")
                  .map((param) => {
                      const eq = param.indexOf("=");
                      if (eq < 0) {
                          return param === "" ? "" : REDACTED;
                      }
                      return eq === param.length - 1 ? param : `${param.slice(0, eq + 1)}${REDACTED}`;
                  })
                  .join("&")}`;
    return `${host}${path}${query}${hash < 0 ? "" : `#${fragment === "" ? "" : REDACTED}`}${tail}`;
}

/**
 * `text` with every URL's user information, query values and fragment replaced by "***":
 * "https://u:pw@h/x?token=abc#k" -> "https://***@h/x?token=***#***".
 */
export function redactUrl(text: string): string {
    return text.replace(URL_IN_TEXT, (_m, scheme: string, rest: string) => scheme + redactAfterScheme(rest));
}

/** True when the URL names user information ("scheme://user:password@host"). */
export function hasUserInfo(url: string): boolean {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url);
}

/** scheme://host[:port] of a URL (never its user information, path or query); "(invalid URL)" when it is none. */
export function originOf(url: string): string {
    try {
        const u = new URL(url);
        return u.host === "" ? "(invalid URL)" : `${u.protocol}//${u.host}`;
    } catch {
        return "(invalid URL)";
    }
}

/** The shortest path segment or query value taken for a token (shorter ones are words such as "api" or "v1"). */
export const MIN_TOKEN_LENGTH = 6;

/**
 * The parts of a URL that may be credentials: its user information, and every path segment and query value of
 * at least {@link MIN_TOKEN_LENGTH} characters (decoded and as written).
 */
export function urlSecrets(url: string): string[] {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return [];
    }
    const parts = [u.username, u.password, ...u.pathname.split("/"), ...[...u.searchParams.values()], u.hash.slice(1)];
    const decoded = parts.flatMap((p) => {
        try {
            return [p, decodeURIComponent(p)];
        } catch {
            return [p];
        }
    });
    return [...new Set(decoded.filter((p) => p.length >= MIN_TOKEN_LENGTH))];
}

/**
 * The parts of a secret config value to hide: the value itself, and where it is JSON, every string in it of at
 * least {@link MIN_TOKEN_LENGTH} characters (not the names of its fields); of each string that is a URL, its
 * {@link urlSecrets}.
 */
export function secretParts(value: string): string[] {
    const out = [value];
    const visit = (x: unknown): void => {
        if (typeof x === "string") {
            if (x.length >= MIN_TOKEN_LENGTH) {
                out.push(x, ...(/^[a-z][a-z0-9+.-]*:\/\//i.test(x) ? urlSecrets(x) : []));
            }
        } else if (Array.isArray(x)) {
            x.forEach(visit);
        } else if (typeof x === "object" && x !== null) {
            Object.values(x).forEach(visit);
        }
    };
    try {
        visit(JSON.parse(value));
    } catch {
        out.push(...(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? urlSecrets(value) : []));
    }
    return out;
}

/**
 * Replaces known secret values in texts (longest first), then redacts every URL's credentials. Words in `keep`
 * (the names of config keys) are never cut into, so a message still names its key.
 */
export class Redactor {
    private readonly secrets: string[];
    private readonly keep: string[];

    constructor(values: Iterable<string | undefined>, keep: Iterable<string> = []) {
        this.secrets = [...new Set([...values].filter((v): v is string => v !== undefined && v.trim() !== ""))].sort(
            (a, b) => b.length - a.length,
        );
        this.keep = [...keep].sort((a, b) => b.length - a.length);
    }

    /** `text` without any known secret value or URL credential. */
    text(text: string): string {
        let out = text;
        for (const secret of this.secrets) {
            out = this.replace(out, secret);
        }
        return redactUrl(out);
    }

    /** `text` with every occurrence of `secret` replaced, but those that lie inside a kept word. */
    private replace(text: string, secret: string): string {
        const kept: [number, number][] = this.keep.flatMap((word) =>
            occurrences(text, word).map((i): [number, number] => [i, i + word.length]),
        );
        let out = "";
        let from = 0;
        for (const i of occurrences(text, secret)) {
            const inside = kept.some(([a, b]) => i >= a && i + secret.length <= b);
            if (i >= from && !inside) {
                out += text.slice(from, i) + REDACTED;
                from = i + secret.length;
            }
        }
        return out + text.slice(from);
    }
}

/** The start of every occurrence of `word` in `text` (overlapping ones included). */
function occurrences(text: string, word: string): number[] {
    const out: number[] = [];
    for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
        out.push(i);
    }
    return out;
}

/** Every string of a JSON-like value passed through `redact` (objects and arrays copied, the rest kept). */
export function redactDeep<T>(value: T, redact: (text: string) => string = redactUrl): T {
    if (typeof value === "string") {
        return redact(value) as T;
    }
    if (Array.isArray(value)) {
        return value.map((v: unknown) => redactDeep(v, redact)) as T;
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T;
    }
    return value;
}

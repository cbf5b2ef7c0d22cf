/**
 * The grammars of the stack config's values: what each kind of key accepts, in the words of its messages and of
 * the README's reference table, and the check that matches those words. A key's declaration names one of them.
 */
import { MAX_APP_NAME_LENGTH } from "../components/canary-release-args";
import { PRINCIPAL, PRINCIPAL_ACCEPTS } from "../components/mesh-security";
import { hasUserInfo } from "../components/redact";
import {
    DNS_LABEL,
    DNS_LABEL_ACCEPTS,
    DNS_SUBDOMAIN,
    DNS_SUBDOMAIN_ACCEPTS,
    HEADER_NAME,
    HEADER_VALUE,
    HEADER_VALUE_ACCEPTS,
    IMAGE_ACCEPTS,
    IMAGE_REF,
    LABEL_VALUE,
    PRINTABLE,
    RETRY_ON,
    VERSION_ACCEPTS,
} from "../components/validation";

/** What a key accepts: the words of messages and the README, and the check that matches them. */
export interface Grammar {
    accepts: string;
    pattern: RegExp;
    /** A check beyond the pattern (a URL that parses, a real date, a range). */
    valid?: (value: string) => boolean;
}

/** True when a parsed JSON value has a field named "__proto__" at any depth. */
export function hasProtoField(x: unknown): boolean {
    if (typeof x !== "object" || x === null) {
        return false;
    }
    return (
        Object.prototype.hasOwnProperty.call(x, "__proto__") ||
        Object.values(x as Record<string, unknown>).some(hasProtoField)
    );
}

export function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/** The application's name: a DNS label short enough for "<app>-stable" and "<app>-canary". */
export const APP_NAME: Grammar = {
    accepts:
        `a DNS-1123 label of at most ${MAX_APP_NAME_LENGTH} characters (lower-case letters, digits and "-"; ` +
        'the Deployments add "-stable" and "-canary")',
    pattern: new RegExp(`^(?=.{1,${MAX_APP_NAME_LENGTH}}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$`),
};

export const DNS_LABEL_NAME: Grammar = { accepts: DNS_LABEL_ACCEPTS, pattern: DNS_LABEL };

/** A DNS-1123 subdomain: a Secret's or a ServiceAccount's name. */
export const DNS_SUBDOMAIN_NAME: Grammar = { accepts: DNS_SUBDOMAIN_ACCEPTS, pattern: DNS_SUBDOMAIN };

/** A Helm release name: a DNS label of at most 53 characters. */
export const HELM_RELEASE_NAME: Grammar = {
    accepts: 'a Helm release name (a DNS-1123 label of at most 53 characters: lower-case letters, digits and "-")',
    pattern: /^(?=.{1,53}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
};

export const IMAGE: Grammar = { accepts: IMAGE_ACCEPTS, pattern: IMAGE_REF };
export const VERSION: Grammar = { accepts: VERSION_ACCEPTS, pattern: LABEL_VALUE };

/** A chart version: a semantic version. */
export const SEMVER: Grammar = {
    accepts: 'a chart version such as "1.28.0" (MAJOR.MINOR.PATCH, an optional -prerelease such as "-beta.1")',
    pattern: /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/,
    valid: (v) => v.length <= 64,
};

const CPU_UNITS = /^([1-9]\d{0,6})m$|^(0|[1-9]\d{0,3})(\.\d{1,3})?$/;
const MEMORY_UNITS: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
};

/** A CPU quantity in millicores; undefined when it is not one. */
export function cpuMillis(text: string): number | undefined {
    const m = CPU_UNITS.exec(text);
    return m === null ? undefined : m[1] !== undefined ? Number(m[1]) : Math.round(Number(text) * 1000);
}

/** A quantity of bytes (memory, ephemeral storage); undefined when it is not one. */
export function quantityBytes(text: string): number | undefined {
    const m = /^((0|[1-9]\d{0,5})(\.\d{1,3})?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)$|^([1-9]\d{0,17})$/.exec(text);
    return m === null ? undefined : m[5] !== undefined ? Number(m[5]) : Number(m[1]) * MEMORY_UNITS[m[4]];
}

export const CPU: Grammar = {
    accepts:
        'a CPU quantity: millicores from "1m" to "1000000m", or cores such as "0.5" or "2" (at most 3 decimals), above 0 and at most 1000 cores',
    pattern: CPU_UNITS,
    valid: (v) => (cpuMillis(v) ?? 0) >= 1 && (cpuMillis(v) ?? 0) <= 1_000_000,
};

/** How each kind of a container's resources is compared: millicores, bytes. */
const QUANTITY_OF = { cpu: cpuMillis, memory: quantityBytes, ephemeralStorage: quantityBytes } as const;

/**
 * Records in `problems` a request above its limit (keys `<kind>Request` and `<kind>Limit`), which Kubernetes
 * refuses; nothing when either is unset or no quantity (its own problem is recorded).
 */
export function refuseRequestAboveLimit(
    problems: string[],
    kind: keyof typeof QUANTITY_OF,
    resources: Partial<Record<`${keyof typeof QUANTITY_OF}${"Request" | "Limit"}`, string>>,
): void {
    const request = resources[`${kind}Request`];
    const limit = resources[`${kind}Limit`];
    const [a, b] = [request, limit].map((q) => (q === undefined ? undefined : QUANTITY_OF[kind](q)));
    if (a !== undefined && b !== undefined && a > b) {
        problems.push(
            `${kind}Request (${request}) must not be above ${kind}Limit (${limit}): Kubernetes refuses such a container`,
        );
    }
}

/** A quantity of bytes, such as memory or ephemeral storage (`what`). */
function bytesGrammar(what: string): Grammar {
    return {
        accepts:
            `${what} such as "128Mi" or "1.5Gi": a number (at most 3 decimals) and a unit Ki, Mi, Gi, Ti, Pi, k, M, ` +
            "G, T or P, or a whole number of bytes; at least 1 byte",
        pattern: /^((0|[1-9]\d{0,5})(\.\d{1,3})?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)|[1-9]\d{0,17})$/,
        valid: (v) => (quantityBytes(v) ?? 0) >= 1,
    };
}

export const MEMORY = bytesGrammar("a memory quantity");
/** Ephemeral storage: /tmp, logs and the writable layer of a container. */
export const STORAGE = bytesGrammar("an ephemeral-storage quantity");

/** An HTTP path with an optional query, as a probe requests it. */
export const PROBE_PATH: Grammar = {
    accepts:
        'a URL path such as "/healthz" or "/health?full=1": "/" then letters, digits and -._~!$&\'()*+,;=:@%/ (and ? after the first ?), at most 1024',
    pattern: /^\/[-A-Za-z0-9._~!$&'()*+,;=:@%/]*(\?[-A-Za-z0-9._~!$&'()*+,;=:@%/?]*)?$/,
    valid: (v) => v.length <= 1024,
};

/** One host of `hosts`: a lower-case DNS name, optionally a wildcard subdomain; never "*" alone. */
export const HOST: Grammar = {
    accepts: "",
    pattern: /^(?=.{1,253}$)(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
};
export const HOSTS_ACCEPTS =
    'a comma-separated list or a JSON array of host names such as "app.example.com,*.example.com" (lower-case DNS ' +
    'names of at most 253 characters, a wildcard only as the first label, each once; never "*" alone)';

/** One caller of `allowedPrincipals`: an Istio principal. */
export const PRINCIPAL_ITEM: Grammar = { accepts: PRINCIPAL_ACCEPTS, pattern: PRINCIPAL };
export const PRINCIPALS_ACCEPTS = `a comma-separated list or a JSON array of ${PRINCIPAL_ACCEPTS}, each once`;

export const HEADER: Grammar = {
    accepts: 'an HTTP header name such as "x-canary" (letters, digits and !#$%&\'*+-.^_`|~, at most 256)',
    pattern: HEADER_NAME,
};
export const HEADER_VALUE_TEXT: Grammar = { accepts: HEADER_VALUE_ACCEPTS, pattern: HEADER_VALUE };

/** A cookie name=value: an HTTP token, "=", cookie characters (RFC 6265). */
export const COOKIE: Grammar = {
    accepts:
        'name=value, such as "version=v2": a cookie name (an HTTP token, at most 256) and a value of visible ASCII characters other than " , ; and \\ (at most 1024)',
    pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,1024}$/,
};

export const RETRY_CONDITIONS: Grammar = {
    accepts: `a comma-separated list without spaces of ${RETRY_ON.join(", ")} or HTTP status codes such as 503`,
    pattern: /^[a-z0-9-]{1,64}(,[a-z0-9-]{1,64})*$/,
    valid: (v) => v.split(",").every((c) => (RETRY_ON as readonly string[]).includes(c) || /^[1-5]\d\d$/.test(c)),
};

/**
 * A URL the bot or Helm fetches: one of `schemes`, a host right after "://", no spaces, backslashes (which URL
 * parsers read as "/") or fragment; user information only if `userInfo`.
 */
export function urlGrammar(schemes: string[], o: { accepts: string; userInfo: boolean }): Grammar {
    return {
        accepts: o.accepts,
        pattern: new RegExp(`^(${schemes.join("|")})://[^\\s#/\\\\][^\\s#\\\\]*$`),
        valid: (v) => {
            if (v.length > 2048 || !PRINTABLE.test(v) || (!o.userInfo && hasUserInfo(v))) {
                return false;
            }
            try {
                return new URL(v).hostname !== "";
            } catch {
                return false;
            }
        },
    };
}

/** A name a person or a service goes by (basic auth's user: no ":"). */
export const USER: Grammar = {
    accepts: 'a user name without ":" or control characters, at most 256',
    pattern: /^[^:]{1,256}$/,
    valid: (v) => PRINTABLE.test(v),
};

/** A secret text: no control characters, at most `max`. */
export function secretText(what: string, max: number): Grammar {
    return {
        accepts: `${what} (no control characters, at most ${max})`,
        pattern: new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${max}}$`),
    };
}

export const TOKEN: Grammar = {
    accepts: "a bearer token (visible ASCII characters, no spaces, at most 8192)",
    pattern: /^[\x21-\x7e]{1,8192}$/,
};

export const PEM = (what: string): Grammar => ({
    accepts: what,
    pattern: /^[\s\S]+$/,
    valid: (v) => !v.includes("\u0000"),
});

/** A UTC time as the bot writes it, and a real one ("2026-02-30T..." is not). */
export const UTC_TIME: Grammar = {
    accepts: 'a UTC time such as "2026-11-30T10:00:00Z"',
    pattern: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/,
    valid: isUtcTime,
};

/** True when `text` is an ISO 8601 UTC time of a day and second that exist. */
export function isUtcTime(text: string): boolean {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z$/.exec(text);
    const ms = m === null ? NaN : Date.parse(`${m[1]}Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === m![1];
}

/** Environment variables: names as Kubernetes has always taken them, values without NUL. */
export const ENV_NAMES: Grammar = {
    accepts: "",
    pattern: /^[-._a-zA-Z][-._a-zA-Z0-9]{0,255}$/,
    valid: (v) => v !== "RELEASE_TRACK",
};
export const ENV_VALUES: Grammar = { accepts: "", pattern: /^[\s\S]*$/, valid: (v) => !v.includes("\u0000") };
export const ENV_ACCEPTS =
    'a JSON object of environment variables: names of letters, digits, "_", "-" and "." not starting with a digit ' +
    "(at most 256; not RELEASE_TRACK, which the program sets), string values without NUL";

/** Kubernetes labels: `[prefix/]name` keys, label values (possibly empty). */
export const LABEL_KEYS: Grammar = {
    accepts: "",
    pattern:
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    valid: (v) => !v.includes("/") || v.indexOf("/") <= 253,
};
export const LABEL_VALUES: Grammar = { accepts: "", pattern: /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/ };
export const LABELS_ACCEPTS =
    'a non-empty JSON object of Kubernetes labels, such as {"istio": "ingressgateway"}: keys "[prefix/]name", ' +
    "values of letters, digits, -_. (at most 63, possibly empty)";

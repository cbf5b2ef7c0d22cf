/** Shared validation vocabulary: every message names the field and the values it accepts. */
import * as pulumi from "@pulumi/pulumi";

/** A DNS-1123 label: namespace, Deployment and Service names. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 subdomain: most object names (ServiceAccounts, Secrets). */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What a DNS-1123 subdomain field accepts, for messages and docs. */
export const DNS_SUBDOMAIN_ACCEPTS = 'a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253)';

/** A Kubernetes label value that is not empty (the `version` label). */
export const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** The largest value of a Kubernetes or Istio int32 field (replicas, connection limits, UIDs). */
export const INT32_MAX = 2_147_483_647;

/** A duration as Istio writes it: "250ms", "5s", "1m", "1h30m": units h, m, s, ms, each once, largest first. */
export const DURATION = /^(?=\d)(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;

/** The longest route or outlier duration: a day. */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** What a duration field accepts, for messages and docs. */
export const DURATION_ACCEPTS =
    'a duration such as "250ms", "5s" or "1m30s" (units h, m, s, ms, each once, largest first), from 1ms to 24h';

/** True when `text` is a {@link DURATION} from 1ms to {@link MAX_DURATION_MS}. */
export function isDuration(text: string): boolean {
    const ms = durationMs(text);
    return ms !== undefined && ms >= 1 && ms <= MAX_DURATION_MS;
}

/** A container image reference: registry/path[:tag][@sha256:digest], no whitespace, at most 512 characters. */
export const IMAGE_REF =
    /^(?=.{1,512}$)[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** The tag of an image reference ("reg:5000/app:1.2@sha256:..." -> "1.2"), or undefined when it has none. */
export function imageTag(image: string): string | undefined {
    const [withoutDigest] = image.split("@");
    // The tag follows the last path part's ":" (a ":" before a "/" is a registry's port).
    const [, tag] = withoutDigest.split("/").pop()!.split(":");
    return tag;
}

/** The digest of an image reference pinned by digest ("...@sha256:<hex>" -> "sha256:<hex>"), else undefined. */
export function imageDigest(image: string): string | undefined {
    return /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
}

/**
 * Whether two image references name the same artifact: the same digest when the first is pinned by one (a tag
 * beside it or another registry path spelling does not matter), else the same reference.
 */
export function sameImage(approved: string, image: string): boolean {
    const digest = imageDigest(approved);
    return digest !== undefined ? imageDigest(image) === digest : approved === image;
}

/** What an image field accepts, for messages and docs. */
export const IMAGE_ACCEPTS =
    'a container image reference such as "ghcr.io/org/app:1.2.3" or, pinned by digest, "ghcr.io/org/app@sha256:<64 hex digits>"';

/** What a version field accepts, for messages and docs. */
export const VERSION_ACCEPTS = 'a label value such as "v2" (letters, digits, "-", "_", ".", at most 63)';

/** What a DNS-1123 label field accepts, for messages and docs. */
export const DNS_LABEL_ACCEPTS = 'a DNS-1123 label (lower-case letters, digits and "-", at most 63)';

/** Control characters (C0 and DEL): never part of a name, a header, a path or a message. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Text without control characters (a path, a name, a message). */
// eslint-disable-next-line no-control-regex
export const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;

/** Text without control characters but tab and line breaks (a message, a PromQL query). */
// eslint-disable-next-line no-control-regex
export const PRINTABLE_LINES = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]+$/;

/** An HTTP header name (RFC 9110 token), at most 256 characters. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/** An HTTP header value: visible ASCII, spaces only inside, at most 256 characters (no CR, LF or NUL). */
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]{0,254}[\x21-\x7e])?$/;

/** What a header value field accepts, for messages and docs. */
export const HEADER_VALUE_ACCEPTS = "a header value: visible ASCII characters, spaces only inside, at most 256";

/** Envoy retry conditions Istio accepts in `retryOn`, besides HTTP status codes such as "503". */
export const RETRY_ON = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
] as const;

/** Converts a duration such as "1m30s" to milliseconds; undefined when it is not one. */
export function durationMs(text: string): number | undefined {
    if (!DURATION.test(text)) {
        return undefined;
    }
    const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let total = 0;
    for (const m of text.matchAll(/(\d+)(ms|s|m|h)/g)) {
        total += Number(m[1]) * unit[m[2]];
    }
    return total;
}

/** Problems of a `retryOn` list; empty when every condition is known. */
export function retryOnProblems(field: string, retryOn: string): string[] {
    const unknown = retryOn
        .split(",")
        .map((c) => c.trim())
        .filter((c) => !(RETRY_ON as readonly string[]).includes(c) && !/^[1-5]\d\d$/.test(c));
    return unknown.length === 0
        ? []
        : [
              `${field} must be a comma-separated list of ${RETRY_ON.join(", ")} or HTTP status codes; ` +
                  `got unknown ${unknown.map((c) => `"${c}"`).join(", ")}`,
          ];
}

/** Names a field in messages: components name their Args fields; the stack config names them by its keys. */
export type FieldNamer<F extends string> = (field: F) => string;

/** One message for several problems: each on its own line. */
export function describeProblems(problems: string[]): string {
    return problems.join("\n");
}

/** The range of an integer field; no `max` means unbounded above. */
export interface IntLimits {
    min: number;
    max?: number;
}

/** True when `value` is an integer within `limits`. */
export function inIntRange(value: number, limits: IntLimits): boolean {
    return Number.isInteger(value) && value >= limits.min && (limits.max === undefined || value <= limits.max);
}

/** An integer check with the standard message. */
export function intProblem(field: string, value: number, limits: IntLimits): string | undefined {
    return inIntRange(value, limits) ? undefined : `${field} must be ${intRange(limits)}; got ${value}`;
}

/** A check that an optional value is one of `values`, with the standard message. */
export function oneOfProblem(field: string, value: string | undefined, values: readonly string[]): string | undefined {
    return value === undefined || values.includes(value)
        ? undefined
        : `${field} must be one of ${values.join(", ")}; got "${value}"`;
}

/** "an integer from 0 to 100" / "an integer of at least 1". */
export function intRange(limits: IntLimits): string {
    return limits.max === undefined
        ? `an integer of at least ${limits.min}`
        : `an integer from ${limits.min} to ${limits.max}`;
}

/** True when `value` holds no Output or Promise at any depth: its value is known now, before any `apply`. */
export function isKnown(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    if (typeof value === "object" && value !== null) {
        return Object.values(value).every(isKnown);
    }
    return true;
}

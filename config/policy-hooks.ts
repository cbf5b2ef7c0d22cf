/**
 * The release policy's say for other systems: webhooks at Flagger's hook points, and built-in load for quiet
 * services while the canary is judged: their keys, declared here once and read into the release policy's
 * {@link HookPolicy} fields (config/policy-type.ts). URLs with credentials are refused and shown redacted; the hook
 * secret is a Pulumi secret, never shown.
 */
import { hasUserInfo, redactUrl } from "../components/redact";
import { secretText, urlGrammar } from "./grammar";
import { promDurationMs, PROM_DURATION, PROM_DURATION_ACCEPTS } from "./policy-rules";
import { HOOK_TYPES, HookPolicy, HookSpec, HookType } from "./policy-type";
import { Reader } from "./reader";

export const HOOK_DEFAULTS = { timeout: "10s", retries: 2, confirmLimit: "1h" } as const;
export const LOAD_DEFAULTS = { rate: 10, maxRequests: 3000, timeout: "5s" } as const;

const HOOKS_ACCEPTS =
    'a JSON array of {"name" (lower-case letters, digits and "-", at most 63, each once), "type" (one of ' +
    HOOK_TYPES.join(", ") +
    '), "url" (an http(s):// URL without credentials), and optionally "timeout" (1s to 5m), "retries" (0 to 10), ' +
    '"metadata" (string values)}';
const HOOK_FIELDS = ["name", "type", "url", "timeout", "retries", "metadata"];
const URL_ACCEPTS = "an http(s):// URL with a host (no spaces or fragment, at most 2048)";

const HOOK_CREDENTIALS_HINT =
    "hook calls are signed with releaseHookSecret (--secret); set releaseHooks itself with --secret if its URLs carry tokens";

/** A URL the bot calls: http(s), a host, no spaces or fragment (credentials are refused apart, with a hint). */
const HOOK_SECRET = secretText("a secret string", 1024);
const CALLED_URL = urlGrammar(["https?"], { accepts: URL_ACCEPTS, userInfo: true });

/** Problems of a URL the bot calls: http(s) only, no credentials (shown redacted; `hint` says what instead). */
export function urlProblem(what: string, url: string, hint = HOOK_CREDENTIALS_HINT): string | undefined {
    if (!CALLED_URL.pattern.test(url) || !CALLED_URL.valid!(url)) {
        return `${what} must be ${URL_ACCEPTS}; got ${JSON.stringify(redactUrl(url.length > 200 ? `${url.slice(0, 197)}...` : url))}`;
    }
    if (hasUserInfo(url)) {
        return `${what} must not contain credentials (${redactUrl(url)}): ${hint}`;
    }
    return undefined;
}

/** The hooks of `releaseHooks`, each checked; problems name the hook by its index and name. */
function parseHooks(raw: string, problems: string[]): HookSpec[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        // not JSON: parsed stays undefined, reported below
    }
    if (!Array.isArray(parsed)) {
        problems.push(`releaseHooks must be ${HOOKS_ACCEPTS}; got text that is not a JSON array`);
        return [];
    }
    const seen = new Set<string>();
    return parsed.flatMap((h: unknown, i): HookSpec[] => {
        const where = `releaseHooks[${i}]`;
        if (typeof h !== "object" || h === null || Array.isArray(h)) {
            problems.push(`${where} must be an object {"name", "type", "url", ...}`);
            return [];
        }
        const o = h as Record<string, unknown>;
        const at = `${where}${typeof o.name === "string" ? ` (${o.name})` : ""}`;
        const before = problems.length;
        const extra = Object.keys(o).filter((k) => !HOOK_FIELDS.includes(k));
        if (extra.length > 0) {
            problems.push(`${at} has unknown fields ${extra.join(", ")} (known: ${HOOK_FIELDS.join(", ")})`);
        }
        if (typeof o.name !== "string" || !/^[a-z0-9][-a-z0-9]{0,62}$/.test(o.name)) {
            problems.push(`${at}: name must be lower-case letters, digits and -, at most 63`);
        } else if (seen.has(o.name)) {
            problems.push(`${at}: the name "${o.name}" is used twice; hook names must be unique`);
        }
        seen.add(String(o.name));
        if (!(HOOK_TYPES as readonly unknown[]).includes(o.type)) {
            problems.push(`${at}: type must be one of ${HOOK_TYPES.join(", ")}; got ${JSON.stringify(o.type)}`);
        }
        const urlIssue =
            typeof o.url === "string" ? urlProblem(`${at}: url`, o.url) : `${at}: url must be ${URL_ACCEPTS}`;
        if (urlIssue !== undefined) {
            problems.push(urlIssue);
        }
        // A field given as null is not a field left out: only a missing one takes the default.
        const timeout = o.timeout === undefined ? HOOK_DEFAULTS.timeout : o.timeout;
        const ms = typeof timeout === "string" ? promDurationMs(timeout) : undefined;
        if (ms === undefined || ms < 1000 || ms > 300_000) {
            problems.push(
                `${at}: timeout must be ${PROM_DURATION_ACCEPTS}, from 1s to 5m; got ${JSON.stringify(timeout)}`,
            );
        }
        const retries = o.retries === undefined ? HOOK_DEFAULTS.retries : o.retries;
        if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > 10) {
            problems.push(`${at}: retries must be an integer from 0 to 10; got ${JSON.stringify(retries)}`);
        }
        const md = o.metadata;
        const mdOk =
            md === undefined ||
            (typeof md === "object" &&
                md !== null &&
                !Array.isArray(md) &&
                Object.entries(md).every(
                    ([k, v]) => k !== "" && k !== "__proto__" && k.length <= 256 && typeof v === "string",
                ));
        if (!mdOk) {
            problems.push(
                `${at}: metadata must be a JSON object of string values (field names not empty, not "__proto__", at most 256)`,
            );
        }
        if (problems.length > before) {
            return [];
        }
        return [
            {
                name: o.name as string,
                type: o.type as HookType,
                url: o.url as string,
                timeout: timeout as string,
                retries: retries as number,
                ...(md === undefined ? {} : { metadata: md as Record<string, string> }),
            },
        ];
    });
}

/** Reads the hook keys (group "Hooks") and the load keys (group "Load while judging"). */
export function readHooks(r: Reader): HookPolicy {
    r.group = "Hooks";
    const raw = r.string("releaseHooks", {
        pattern: /[\s\S]*/,
        doc: "Webhooks the bot calls at Flagger's hook points, with a signed JSON payload (see Release bot: hooks).",
        accepts: HOOKS_ACCEPTS,
        field: "policy.hooks",
    });
    const hooks = raw === undefined ? [] : parseHooks(raw, r.problems);
    const hookSecret = r.secret("releaseHookSecret", {
        ...HOOK_SECRET,
        doc: "Key of the HMAC-SHA256 signature of each hook call's timestamp and body (header X-Istio-Canary-Signature: t=...,v1=...); not blank.",
        field: "policy.hookSecret",
    });
    if (hooks.length > 0 && hookSecret === undefined) {
        r.warnings.push(
            "releaseHooks are called unsigned: set releaseHookSecret (`pulumi config set --secret releaseHookSecret " +
                '"$(openssl rand -hex 32)"`) so that receivers can verify each call and refuse old or replayed ones',
        );
    }
    const hookConfirmLimit =
        r.duration("releaseHookConfirmLimit", {
            pattern: PROM_DURATION,
            accepts: `${PROM_DURATION_ACCEPTS}, from 1s to 24h`,
            doc: "How long confirm-promotion hooks are asked for a 2xx before the release pauses (exit 9).",
            def: HOOK_DEFAULTS.confirmLimit,
            field: "policy.hookConfirmLimit",
        }) ?? HOOK_DEFAULTS.confirmLimit;
    r.group = "Load while judging";
    const loadUrl = r.string("releaseLoadUrl", {
        doc:
            "Built-in load: requests to this URL (the gateway's) during each analysis window, for quiet services; " +
            "unset turns it off.",
        accepts: `${URL_ACCEPTS} without credentials`,
        pattern: /[\s\S]*/,
        field: "policy.loadUrl",
        flag: { name: "load-url", arg: "<url>" },
    });
    const urlIssue =
        loadUrl === undefined
            ? undefined
            : urlProblem(
                  "releaseLoadUrl",
                  loadUrl,
                  "the load goes to the service as its users' requests do, without credentials",
              );
    if (urlIssue !== undefined) {
        r.problems.push(urlIssue);
    }
    return {
        hooks,
        hookSecret,
        hookConfirmLimit,
        loadUrl: urlIssue === undefined ? loadUrl : undefined,
        loadRate: r.int("releaseLoadRate", {
            doc: "Requests per second of the built-in load.",
            limits: { min: 1, max: 1000 },
            def: LOAD_DEFAULTS.rate,
            field: "policy.loadRate",
            flag: { name: "load-rate", arg: "<rps>" },
        }),
        loadMaxRequests: r.int("releaseLoadMaxRequests", {
            doc: "At most this many load requests per analysis window.",
            limits: { min: 1, max: 1_000_000 },
            def: LOAD_DEFAULTS.maxRequests,
            field: "policy.loadMaxRequests",
        }),
        loadTimeout:
            r.duration("releaseLoadTimeout", {
                pattern: PROM_DURATION,
                accepts: `${PROM_DURATION_ACCEPTS}, from 100ms to 1m`,
                doc: "Timeout of each load request.",
                def: LOAD_DEFAULTS.timeout,
                field: "policy.loadTimeout",
            }) ?? LOAD_DEFAULTS.timeout,
        loadCanaryHeader: r.bool("releaseLoadCanaryHeader", {
            doc: "Send canaryHeader with the load so it reaches the canary by the header route; false: the URL as is.",
            def: true,
            field: "policy.loadCanaryHeader",
        }),
    };
}

/**
 * The release policy: how the release bot releases on a stack. Read from stack config (so a bad policy fails
 * `pulumi preview` too) and overridden by the bot's flags, which are declared here with their keys.
 */
import { ConfigError, KeySpec, Reader } from "./reader";

/** A PromQL check of the canary: passes when the value is within [min, max]. */
export interface CustomCheck {
    name: string;
    query: string;
    min?: number;
    max?: number;
}

/** What a check with no data (empty result or NaN) means. */
export const NO_DATA_POLICIES = ["fail", "hold", "pass"] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** Release policy: read by the release bot, validated by the program so a bad policy fails `pulumi preview`. */
export interface ReleasePolicy {
    /** Canary weights, increasing, ending at 100. */
    steps: number[];
    /** Wait between a shift and its analysis. */
    interval: string;
    /** Range of the rate() windows in the built-in queries. */
    metricWindow: string;
    /** Failed analyses before rollback. */
    failureThreshold: number;
    /** Minimum request success rate of the canary, in percent; undefined turns the check off. */
    minSuccessRate?: number;
    /** Maximum p99 latency of the canary, in milliseconds; undefined turns the check off. */
    maxLatencyMs?: number;
    /** Extra PromQL checks. */
    checks: CustomCheck[];
    noData: NoDataPolicy;
    /** Consecutive held analyses before no data counts as a failure. */
    holdLimit: number;
    /** Minimum requests the canary must have served in the metric window for its metrics to count as data. */
    minRequests: number;
    /** Consecutive analyses with query errors (or Prometheus down) before rollback. */
    errorLimit: number;
    /** Percentage of traffic mirrored to the canary in a phase before the first shift; 0 skips the phase. */
    mirrorPercent: number;
    /** Run a phase before the first shift where only requests with the canary header reach the canary. */
    headerPhase: boolean;
    prometheusUrl?: string;
    prometheusTimeout: string;
    /** Prometheus's scrape interval: the metric window must span at least two. */
    scrapeInterval: string;
    prometheusUser?: string;
    /** Secret. */
    prometheusPassword?: string;
    /** Secret. */
    prometheusToken?: string;
}

/** The policy's defaults; 0 for a check's threshold turns the check off. */
export const RELEASE_POLICY_DEFAULTS = {
    steps: "10,25,50,100",
    interval: "1m",
    metricWindow: "1m",
    failureThreshold: 1,
    minSuccessRate: 99,
    maxLatencyMs: 500,
    noData: "fail" as NoDataPolicy,
    holdLimit: 3,
    minRequests: 0,
    errorLimit: 4,
    mirrorPercent: 0,
    headerPhase: false,
    prometheusTimeout: "10s",
    scrapeInterval: "15s",
} as const;

/**
 * A duration in Prometheus's grammar: integers with units y, w, d, h, m, s, ms, each at most once and in that
 * (descending) order: "1m30s" yes, "30s1m" and "1m1m" no.
 */
export const PROM_DURATION = /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;
export const PROM_DURATION_ACCEPTS =
    'a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first)';

const UNIT_MS: Record<string, number> = {
    y: 365 * 86_400_000,
    w: 7 * 86_400_000,
    d: 86_400_000,
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
};

/** A Prometheus duration in milliseconds; undefined when it is not one. */
export function promDurationMs(text: string): number | undefined {
    if (!PROM_DURATION.test(text)) {
        return undefined;
    }
    let total = 0;
    for (const m of text.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) {
        total += Number(m[1]) * UNIT_MS[m[2]];
    }
    return total;
}

/** The longest wait the bot accepts: longer ones overflow a Node.js timer (2^31-1 ms, about 24.8 days). */
export const MAX_WAIT_MS = 24 * 3_600_000;
/** The shortest interval between a shift and its analysis. */
export const MIN_INTERVAL_MS = 10_000;
/** The shortest Prometheus query timeout. */
export const MIN_TIMEOUT_MS = 1000;

const fmt = (ms: number) =>
    ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/**
 * Problems of a policy as a whole, named by its keys: duration bounds (interval at least 10s, the metric window
 * within the interval and at least two scrape intervals, a timeout of at least 1s, no wait that overflows a
 * timer), checks whose minimum exceeds their maximum, duplicate check names, credentials in the Prometheus URL.
 * Run on the stack's policy and again on it with the bot's flags applied.
 */
export function policyProblems(p: ReleasePolicy): string[] {
    const problems: string[] = [];
    const ms = (key: string, value: string): number | undefined => {
        const n = promDurationMs(value);
        if (n === undefined) {
            problems.push(`${key} must be ${PROM_DURATION_ACCEPTS}; got ${JSON.stringify(value)}`);
        } else if (n > MAX_WAIT_MS) {
            problems.push(`${key} must be at most ${fmt(MAX_WAIT_MS)} (a longer wait overflows a timer); got "${value}"`);
            return undefined;
        }
        return n;
    };
    const interval = ms("releaseInterval", p.interval);
    const window = ms("releaseMetricWindow", p.metricWindow);
    const scrape = ms("prometheusScrapeInterval", p.scrapeInterval);
    const timeout = ms("prometheusTimeout", p.prometheusTimeout);
    if (interval !== undefined && interval < MIN_INTERVAL_MS) {
        problems.push(`releaseInterval must be at least ${fmt(MIN_INTERVAL_MS)}; got "${p.interval}"`);
    }
    if (window !== undefined && interval !== undefined && window > interval) {
        problems.push(
            `releaseMetricWindow must be no longer than releaseInterval (${p.interval}), or an analysis counts ` +
                `traffic from before the shift; got "${p.metricWindow}"`,
        );
    }
    if (window !== undefined && scrape !== undefined && window < 2 * scrape) {
        problems.push(
            `releaseMetricWindow must be at least two scrape intervals (2 x prometheusScrapeInterval ${p.scrapeInterval} = ` +
                `${fmt(2 * scrape)}), or rate() has too few samples; got "${p.metricWindow}"`,
        );
    }
    if (scrape !== undefined && scrape < 1000) {
        problems.push(`prometheusScrapeInterval must be at least 1s; got "${p.scrapeInterval}"`);
    }
    if (timeout !== undefined && timeout < MIN_TIMEOUT_MS) {
        problems.push(`prometheusTimeout must be at least ${fmt(MIN_TIMEOUT_MS)}; got "${p.prometheusTimeout}"`);
    }
    const seen = new Set<string>();
    for (const c of p.checks) {
        if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
            problems.push(`releaseChecks: check "${c.name}" has min ${c.min} above its max ${c.max}; it could never pass`);
        }
        if (seen.has(c.name) || BUILT_IN_CHECKS.includes(c.name)) {
            problems.push(
                `releaseChecks: the check name "${c.name}" is used twice${BUILT_IN_CHECKS.includes(c.name) ? " (it is a built-in check)" : ""}; names must be unique`,
            );
        }
        seen.add(c.name);
    }
    if (p.prometheusUrl !== undefined && hasCredentials(p.prometheusUrl)) {
        problems.push(
            `prometheusUrl must not contain credentials (${redactUrl(p.prometheusUrl)}): set prometheusUser and ` +
                "prometheusPassword (--secret) or prometheusToken (--secret), or PROMETHEUS_* in the environment",
        );
    }
    return problems;
}

/** Names of the built-in checks, which custom checks may not reuse. */
export const BUILT_IN_CHECKS = ["success-rate", "latency-p99", "request-count"];

function hasCredentials(url: string): boolean {
    return /^[a-z]+:\/\/[^/?#]*@/i.test(url);
}

/** A URL with any user and password replaced by "***", for messages. */
export function redactUrl(url: string): string {
    return url.replace(/^([a-z]+:\/\/)[^/?#]*@/i, "$1***@");
}

const STEPS_ACCEPTS =
    'a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"';
const CHECKS_ACCEPTS = 'a JSON array of {"name", "query", "min" and/or "max"}';

/** Parses release steps; undefined when invalid. */
export function parseSteps(text: string): number[] | undefined {
    if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(text)) {
        return undefined;
    }
    const steps = text.split(",").map((x) => Number(x.trim()));
    const increasing = steps.every((w, i) => w >= 1 && w <= 100 && (i === 0 || w > steps[i - 1]));
    return increasing && steps.at(-1) === 100 ? steps : undefined;
}

function isCustomCheck(x: unknown): x is CustomCheck {
    if (typeof x !== "object" || x === null) {
        return false;
    }
    const c = x as Record<string, unknown>;
    const num = (v: unknown) => v === undefined || (typeof v === "number" && Number.isFinite(v));
    return (
        Object.keys(c).every((k) => ["name", "query", "min", "max"].includes(k)) &&
        typeof c.name === "string" &&
        /^[a-z0-9][-a-z0-9]*$/.test(c.name) &&
        typeof c.query === "string" &&
        c.query.trim() !== "" &&
        num(c.min) &&
        num(c.max) &&
        (c.min !== undefined || c.max !== undefined)
    );
}

const isCheckList = (x: unknown): x is CustomCheck[] => Array.isArray(x) && x.every(isCustomCheck);

/** Reads the release policy's keys (group "Release policy"). */
export function readPolicy(r: Reader): ReleasePolicy {
    const D = RELEASE_POLICY_DEFAULTS;
    r.group = "Release policy";
    const stepsText = r.string("releaseSteps", {
        doc: "Canary weights the release bot steps through.",
        accepts: STEPS_ACCEPTS,
        def: D.steps,
        field: "policy.steps",
        flag: { name: "steps", arg: "<list>" },
    });
    const steps = stepsText === undefined ? undefined : parseSteps(stepsText);
    if (stepsText !== undefined && steps === undefined) {
        r.bad("releaseSteps", STEPS_ACCEPTS, stepsText);
    }
    const policy: ReleasePolicy = {
        steps: steps ?? parseSteps(D.steps)!,
        interval:
            r.duration("releaseInterval", {
                ...PROM,
                doc: "Wait between a shift and its analysis.",
                def: D.interval,
                field: "policy.interval",
                flag: { name: "interval", arg: "<duration>" },
            }) ?? D.interval,
        metricWindow:
            r.duration("releaseMetricWindow", {
                ...PROM,
                doc: "Range of rate() in the built-in checks.",
                def: D.metricWindow,
                field: "policy.metricWindow",
                flag: { name: "metric-window", arg: "<duration>" },
            }) ?? D.metricWindow,
        failureThreshold: r.int("releaseFailureThreshold", {
            doc: "Failed analyses before the bot rolls back.",
            limits: { min: 1, max: 100 },
            def: D.failureThreshold,
            field: "policy.failureThreshold",
            flag: { name: "failure-threshold", arg: "<n>" },
        }),
        minSuccessRate: offWhenZero(
            r.number("releaseMinSuccessRate", {
                doc: "Minimum request success rate (non-5xx) of the canary, in percent; 0 turns the check off.",
                min: 0,
                max: 100,
                def: D.minSuccessRate,
                field: "policy.minSuccessRate",
                flag: { name: "min-success-rate", arg: "<percent>" },
            }),
        ),
        maxLatencyMs: offWhenZero(
            r.int("releaseMaxLatencyMs", {
                doc: "Maximum p99 request duration of the canary in ms; 0 turns the check off.",
                limits: { min: 0 },
                def: D.maxLatencyMs,
                field: "policy.maxLatencyMs",
                flag: { name: "max-latency-ms", arg: "<ms>" },
            }),
        ),
        checks:
            r.json("releaseChecks", {
                doc: 'Extra PromQL checks: JSON [{"name","query","min","max"}].',
                accepts: CHECKS_ACCEPTS,
                valid: isCheckList,
                field: "policy.checks",
                flag: { name: "checks-file", arg: "<file>", file: true },
            }) ?? [],
        noData:
            r.oneOf("releaseNoData", {
                doc: "What a check without data (no traffic, NaN) means.",
                values: NO_DATA_POLICIES,
                def: D.noData,
                field: "policy.noData",
                flag: { name: "no-data", arg: NO_DATA_POLICIES.join("|") },
            }) ?? D.noData,
        holdLimit: r.int("releaseHoldLimit", {
            doc: "With releaseNoData=hold: analyses held before it fails.",
            limits: { min: 1, max: 100 },
            def: D.holdLimit,
            field: "policy.holdLimit",
            flag: { name: "hold-limit", arg: "<n>" },
        }),
        minRequests: r.int("releaseMinRequests", {
            doc: "Requests the canary must have served in the metric window for its metrics to count as data.",
            limits: { min: 0 },
            def: D.minRequests,
            field: "policy.minRequests",
            flag: { name: "min-requests", arg: "<n>" },
        }),
        errorLimit: r.int("releaseErrorLimit", {
            doc: "Consecutive analyses with query errors or Prometheus unreachable before the bot rolls back.",
            limits: { min: 1, max: 100 },
            def: D.errorLimit,
            field: "policy.errorLimit",
            flag: { name: "error-limit", arg: "<n>" },
        }),
        mirrorPercent: r.number("releaseMirrorPercent", {
            doc: "Mirror this percentage of traffic to the canary in a phase before the first shift; 0 skips it.",
            min: 0,
            max: 100,
            def: D.mirrorPercent,
            field: "policy.mirrorPercent",
            flag: { name: "mirror-percent", arg: "<percent>" },
        }),
        headerPhase: r.bool("releaseHeaderPhase", {
            doc: "Before the first shift, a phase where only requests with canaryHeader reach the canary.",
            def: D.headerPhase,
            field: "policy.headerPhase",
            flag: { name: "header-phase" },
        }),
        prometheusUrl: prometheusUrl(r),
        prometheusTimeout:
            r.duration("prometheusTimeout", {
                ...PROM,
                doc: "Timeout of each Prometheus query.",
                def: D.prometheusTimeout,
                field: "policy.prometheusTimeout",
                flag: { name: "prometheus-timeout", arg: "<duration>" },
            }) ?? D.prometheusTimeout,
        scrapeInterval:
            r.duration("prometheusScrapeInterval", {
                ...PROM,
                doc: "Prometheus's scrape interval (releaseMetricWindow must span at least two).",
                def: D.scrapeInterval,
                field: "policy.scrapeInterval",
                flag: { name: "scrape-interval", arg: "<duration>" },
            }) ?? D.scrapeInterval,
        prometheusUser: r.string("prometheusUser", {
            doc: "Basic-auth user for Prometheus (with prometheusPassword).",
            field: "policy.prometheusUser",
        }),
        prometheusPassword: r.secret("prometheusPassword", {
            doc: "Basic-auth password for Prometheus.",
            accepts: "a password",
            field: "policy.prometheusPassword",
        }),
        prometheusToken: r.secret("prometheusToken", {
            doc: "Bearer token for Prometheus.",
            accepts: "a token",
            field: "policy.prometheusToken",
        }),
    };
    if (policy.prometheusUser !== undefined && policy.prometheusPassword === undefined) {
        r.problems.push("prometheusUser needs prometheusPassword (set it with --secret)");
    }
    if (r.problems.length === 0) {
        r.problems.push(...policyProblems(policy));
    }
    return policy;
}

const PROM = { pattern: PROM_DURATION, accepts: PROM_DURATION_ACCEPTS };

/** The Prometheus URL; a malformed one is reported without its credentials. */
function prometheusUrl(r: Reader): string | undefined {
    const accepts = "an http(s):// URL";
    const url = r.string("prometheusUrl", {
        doc: "Prometheus the release bot queries (credentials go in prometheusUser/prometheusPassword or prometheusToken).",
        accepts,
        field: "policy.prometheusUrl",
        flag: { name: "prometheus-url", arg: "<url>" },
    });
    if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) {
        r.problems.push(`prometheusUrl must be ${accepts}; got ${JSON.stringify(redactUrl(url))}`);
        return undefined;
    }
    return url;
}

function offWhenZero(n: number): number | undefined {
    return n > 0 ? n : undefined;
}

/**
 * Only the release policy, from `raw` (keys of other groups are ignored, not checked). Throws a
 * {@link ConfigError} listing the policy's problems.
 */
export function parsePolicy(raw: Record<string, string>, secretKeys: ReadonlySet<string> = new Set()): ReleasePolicy {
    const r = new Reader(raw, secretKeys);
    const policy = readPolicy(r);
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return policy;
}

/** The policy's keys, in declaration order (the release bot's flags come from their `flag`). */
export function policyKeySpecs(): KeySpec[] {
    const r = new Reader({});
    readPolicy(r);
    return r.specs;
}

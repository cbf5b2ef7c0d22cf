/**
 * The release policy's rules as a whole: Prometheus's duration grammar, the bounds a policy must keep, and its
 * durations in milliseconds once it keeps them. Pure; messages name the policy's config keys (declared in
 * policy.ts and its siblings).
 */
import { hasUserInfo, redactUrl } from "../components/redact";
import { ReleasePolicy } from "./policy-type";

/** The fields of a release policy the rules look at. */
export type PolicyUnderRules = Pick<
    ReleasePolicy,
    | "interval"
    | "metricWindow"
    | "scrapeInterval"
    | "prometheusTimeout"
    | "prometheusUrl"
    | "checks"
    | "steps"
    | "gates"
    | "hookConfirmLimit"
    | "loadTimeout"
>;

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

/**
 * A duration that was checked already (a policy without problems, a hook the policy accepted), in milliseconds.
 * Throws for text that is not one: that is a bug, a value used before it was checked.
 */
export function durationMs(text: string): number {
    const ms = promDurationMs(text);
    if (ms === undefined) {
        throw new Error(`"${text}" is not a Prometheus duration: it was used before it was checked`);
    }
    return ms;
}

/** The policy's waits and timeouts in milliseconds, parsed once (the policy keeps them as written, for reports). */
export interface PolicyTimes {
    /** Wait between a shift and its analysis (releaseInterval). */
    intervalMs: number;
    /** Timeout of each Prometheus query (prometheusTimeout). */
    prometheusTimeoutMs: number;
    /** How long confirm-promotion hooks are asked for a 2xx (releaseHookConfirmLimit). */
    hookConfirmLimitMs: number;
    /** Timeout of each load request (releaseLoadTimeout). */
    loadTimeoutMs: number;
}

/** The durations of a policy without problems ({@link policyProblems}), in milliseconds. */
export function policyTimes(
    p: Pick<ReleasePolicy, "interval" | "prometheusTimeout" | "hookConfirmLimit" | "loadTimeout">,
): PolicyTimes {
    return {
        intervalMs: durationMs(p.interval),
        prometheusTimeoutMs: durationMs(p.prometheusTimeout),
        hookConfirmLimitMs: durationMs(p.hookConfirmLimit),
        loadTimeoutMs: durationMs(p.loadTimeout),
    };
}

/** The longest wait the bot accepts: longer ones overflow a Node.js timer (2^31-1 ms, about 24.8 days). */
export const MAX_WAIT_MS = 24 * 3_600_000;
/** The shortest interval between a shift and its analysis. */
export const MIN_INTERVAL_MS = 10_000;
/** The shortest Prometheus query timeout. */
export const MIN_TIMEOUT_MS = 1000;

const fmt = (ms: number) =>
    ms % 3_600_000 === 0
        ? `${ms / 3_600_000}h`
        : ms % 60_000 === 0
          ? `${ms / 60_000}m`
          : ms % 1000 === 0
            ? `${ms / 1000}s`
            : `${ms}ms`;

/**
 * Problems of a policy as a whole, named by its keys: duration bounds (interval at least 10s, the metric window
 * within the interval and at least two scrape intervals, a timeout of at least 1s, no wait that overflows a
 * timer), checks whose minimum exceeds their maximum, duplicate check names, credentials in the Prometheus URL.
 * Run on the stack's policy and again on it with the bot's flags applied. With `given` (the keys actually set,
 * e.g. the bot's flags alone), a rule runs only when every key it reads is given: the flags' own values are
 * checked before anything is opened, and their combination with the stack's in preflight.
 */
export function policyProblems(p: PolicyUnderRules, given?: ReadonlySet<string>): string[] {
    const all: string[] = [];
    const problems = {
        push(...keysAndMessage: string[]) {
            const message = keysAndMessage.at(-1)!;
            const keys = keysAndMessage.length > 1 ? keysAndMessage.slice(0, -1) : [message.split(" ")[0]];
            if (given === undefined || keys.every((k) => given.has(k))) {
                all.push(message);
            }
        },
    };
    const ms = (key: string, value: string): number | undefined => {
        const n = promDurationMs(value);
        if (n === undefined) {
            problems.push(`${key} must be ${PROM_DURATION_ACCEPTS}; got ${JSON.stringify(value)}`);
        } else if (n > MAX_WAIT_MS) {
            problems.push(
                `${key} must be at most ${fmt(MAX_WAIT_MS)} (a longer wait overflows a timer); got "${value}"`,
            );
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
            "releaseMetricWindow",
            "releaseInterval",
            `releaseMetricWindow must be no longer than releaseInterval (${p.interval}), or an analysis counts ` +
                `traffic from before the shift; got "${p.metricWindow}"`,
        );
    }
    if (window !== undefined && scrape !== undefined && window < 2 * scrape) {
        problems.push(
            "releaseMetricWindow",
            "prometheusScrapeInterval",
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
    const confirm = ms("releaseHookConfirmLimit", p.hookConfirmLimit);
    if (confirm !== undefined && confirm < MIN_TIMEOUT_MS) {
        problems.push(`releaseHookConfirmLimit must be at least ${fmt(MIN_TIMEOUT_MS)}; got "${p.hookConfirmLimit}"`);
    }
    const loadTimeout = ms("releaseLoadTimeout", p.loadTimeout);
    if (loadTimeout !== undefined && (loadTimeout < 100 || loadTimeout > 60_000)) {
        problems.push(`releaseLoadTimeout must be from 100ms to 1m; got "${p.loadTimeout}"`);
    }
    const stray = p.gates.filter((g) => g !== "complete" && !p.steps.includes(Number(g)));
    if (stray.length > 0) {
        problems.push(
            "releaseGates",
            "releaseSteps",
            `releaseGates: ${stray.join(", ")} ${stray.length === 1 ? "is not a step" : "are not steps"} of ` +
                `releaseSteps (${p.steps.join(",")}); a gate is a step's weight or "complete"`,
        );
    }
    const seen = new Set<string>();
    for (const c of p.checks) {
        if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
            problems.push(
                "releaseChecks",
                `releaseChecks: check "${c.name}" has min ${c.min} above its max ${c.max}; it could never pass`,
            );
        }
        if (seen.has(c.name) || BUILT_IN_CHECKS.includes(c.name)) {
            problems.push(
                "releaseChecks",
                `releaseChecks: the check name "${c.name}" is used twice${BUILT_IN_CHECKS.includes(c.name) ? " (it is a built-in check)" : ""}; names must be unique`,
            );
        }
        seen.add(c.name);
    }
    if (p.prometheusUrl !== undefined && hasUserInfo(p.prometheusUrl)) {
        problems.push(
            "prometheusUrl",
            `prometheusUrl must not contain credentials (${redactUrl(p.prometheusUrl)}): set prometheusUser and ` +
                "prometheusPassword (--secret) or prometheusToken (--secret), or PROMETHEUS_* in the environment",
        );
    }
    return all;
}

/** Names of the built-in checks, which custom checks may not reuse. */
export const BUILT_IN_CHECKS = ["success-rate", "latency-p99", "request-count"];

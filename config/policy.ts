/**
 * The release policy: how the release bot releases on a stack. Read from stack config (so a bad policy fails
 * `pulumi preview` too) and overridden by the bot's flags, which are declared here with their keys.
 */
import { INT32_MAX, PRINTABLE_LINES } from "../components/validation";
import { secretText, TOKEN, urlGrammar, USER } from "./grammar";
import { readGates } from "./policy-gates";
import { readHooks } from "./policy-hooks";
import { policyProblems, PROM_DURATION, PROM_DURATION_ACCEPTS } from "./policy-rules";
import {
    CustomCheck,
    GatePolicy,
    HookPolicy,
    NO_DATA_POLICIES,
    NoDataPolicy,
    ReleasePolicy,
    ROLLBACK_MODES,
    RollbackMode,
} from "./policy-type";
import { ConfigError, KeySpec, Reader } from "./reader";
import { MAX_FAILURE_THRESHOLD } from "./release-state";

export { parseGates } from "./policy-gates";
export {
    durationMs,
    policyProblems,
    policyTimes,
    type PolicyTimes,
    promDurationMs,
    PROM_DURATION,
    PROM_DURATION_ACCEPTS,
} from "./policy-rules";
export {
    type CustomCheck,
    type GatePolicy,
    type HookPolicy,
    type HookSpec,
    type HookType,
    HOOK_TYPES,
    NO_DATA_POLICIES,
    type NoDataPolicy,
    type ReleasePolicy,
    ROLLBACK_MODES,
    type RollbackMode,
} from "./policy-type";

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
    rollback: "fast" as RollbackMode,
    prometheusTimeout: "10s",
    scrapeInterval: "15s",
} as const;

const STEPS_ACCEPTS =
    'a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"';
const CHECKS_ACCEPTS =
    'a JSON array of {"name" (lower-case letters, digits and "-", at most 63), "query" (PromQL: no control ' +
    'characters but tab and newline, at most 8192), "min" and/or "max" (numbers)}';

/** Release steps as written: weights without leading zeros, separated by commas (spaces around them allowed). */
const STEPS = /^\s*[1-9]\d{0,2}(\s*,\s*[1-9]\d{0,2})*\s*$/;

/** Parses release steps; undefined when invalid. */
export function parseSteps(text: string): number[] | undefined {
    if (!STEPS.test(text)) {
        return undefined;
    }
    // Number() ignores the whitespace around each weight.
    const steps = text.split(",").map((x) => Number(x));
    // Increasing and ending at 100: so none is above 100.
    const increasing = steps.every((w, i) => w >= 1 && (i === 0 || w > steps[i - 1]));
    return increasing && steps.at(-1) === 100 ? steps : undefined;
}

/** A check as JSON gives it. A number, string or boolean fails the key and name tests like any other non-check. */
function isCustomCheck(x: unknown): x is CustomCheck {
    if (x === null) {
        return false;
    }
    const c = x as Record<string, unknown>;
    // Number.isFinite is false for anything but a finite number (it does not convert).
    const num = (v: unknown) => v === undefined || Number.isFinite(v);
    return (
        Object.keys(c).every((k) => ["name", "query", "min", "max"].includes(k)) &&
        typeof c.name === "string" &&
        /^[a-z0-9][-a-z0-9]{0,62}$/.test(c.name) &&
        typeof c.query === "string" &&
        c.query.trim() !== "" &&
        c.query.length <= 8192 &&
        PRINTABLE_LINES.test(c.query) &&
        num(c.min) &&
        num(c.max) &&
        (c.min !== undefined || c.max !== undefined)
    );
}

const isCheckList = (x: unknown): x is CustomCheck[] => Array.isArray(x) && x.every(isCustomCheck);

/**
 * Reads the release policy's keys (group "Release policy"). With `given`, rules across keys run only over the
 * keys given (see policyProblems).
 */
export function readPolicy(r: Reader, given?: ReadonlySet<string>): ReleasePolicy {
    const D = RELEASE_POLICY_DEFAULTS;
    r.group = "Release policy";
    const stepsText = r.string("releaseSteps", {
        doc: "Canary weights the release bot steps through.",
        accepts: STEPS_ACCEPTS,
        pattern: /[\s\S]*/,
        def: D.steps,
        field: "policy.steps",
        flag: { name: "steps", arg: "<list>" },
    });
    const steps = stepsText === undefined ? undefined : parseSteps(stepsText);
    if (stepsText !== undefined && steps === undefined) {
        r.bad("releaseSteps", STEPS_ACCEPTS, stepsText);
    }
    const core: Omit<ReleasePolicy, keyof GatePolicy | keyof HookPolicy> = {
        steps: steps ?? parseSteps(D.steps)!,
        interval:
            r.duration("releaseInterval", {
                ...INTERVAL,
                doc: "Wait between a shift and its analysis.",
                def: D.interval,
                field: "policy.interval",
                flag: { name: "interval", arg: "<duration>" },
            }) ?? D.interval,
        metricWindow:
            r.duration("releaseMetricWindow", {
                ...WINDOW,
                doc: "Range of rate() in the built-in checks.",
                def: D.metricWindow,
                field: "policy.metricWindow",
                flag: { name: "metric-window", arg: "<duration>" },
            }) ?? D.metricWindow,
        failureThreshold: r.int("releaseFailureThreshold", {
            doc: "Failed analyses before the bot rolls back.",
            limits: { min: 1, max: MAX_FAILURE_THRESHOLD },
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
                limits: { min: 0, max: 3_600_000 },
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
            limits: { min: 0, max: INT32_MAX },
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
        rollback:
            r.oneOf("releaseRollback", {
                doc:
                    "How the bot puts traffic back on stable: fast (patch the live routes' weights, then " +
                    "the update that records it) or update (the update alone).",
                values: ROLLBACK_MODES,
                def: D.rollback,
                field: "policy.rollback",
                flag: { name: "rollback", arg: ROLLBACK_MODES.join("|") },
            }) ?? D.rollback,
        prometheusUrl: prometheusUrl(r),
        prometheusTimeout:
            r.duration("prometheusTimeout", {
                ...SECOND_TO_DAY,
                doc: "Deadline of each Prometheus query, from its start to the end of its answer (not an idle timeout; answers over 1 MiB are refused).",
                def: D.prometheusTimeout,
                field: "policy.prometheusTimeout",
                flag: { name: "prometheus-timeout", arg: "<duration>" },
            }) ?? D.prometheusTimeout,
        scrapeInterval:
            r.duration("prometheusScrapeInterval", {
                ...SECOND_TO_DAY,
                doc: "Prometheus's scrape interval (releaseMetricWindow must span at least two).",
                def: D.scrapeInterval,
                field: "policy.scrapeInterval",
                flag: { name: "scrape-interval", arg: "<duration>" },
            }) ?? D.scrapeInterval,
        prometheusUser: r.string("prometheusUser", {
            ...USER,
            doc: "Basic-auth user for Prometheus (with prometheusPassword).",
            field: "policy.prometheusUser",
        }),
        prometheusPassword: r.secret("prometheusPassword", {
            ...PASSWORD,
            doc: "Basic-auth password for Prometheus.",
            field: "policy.prometheusPassword",
        }),
        prometheusToken: r.secret("prometheusToken", {
            ...TOKEN,
            doc: "Bearer token for Prometheus.",
            field: "policy.prometheusToken",
        }),
        policyPack: r.path("releasePolicyPack", {
            kind: "directory",
            doc: "Policy pack the bot and promotion run on every preview and update (e.g. policies); a violation stops the release. Relative to the project directory.",
            field: "policy.policyPack",
            flag: { name: "policy-pack", arg: "<dir>" },
        }),
        policyPackConfig: r.path("releasePolicyPackConfig", {
            kind: "file",
            doc: "JSON file configuring releasePolicyPack's policies (pulumi's --policy-pack-config). Relative to the project directory.",
            field: "policy.policyPackConfig",
            flag: { name: "policy-pack-config", arg: "<file>" },
        }),
    };
    if (core.policyPackConfig !== undefined && core.policyPack === undefined) {
        r.problems.push("releasePolicyPackConfig needs releasePolicyPack (the policy pack it configures)");
    }
    if (core.prometheusUser !== undefined && core.prometheusPassword === undefined) {
        r.problems.push("prometheusUser needs prometheusPassword (set it with --secret)");
    }
    const policy: ReleasePolicy = { ...core, ...readGates(r), ...readHooks(r) };
    if (r.problems.length === 0) {
        r.problems.push(...policyProblems(policy, given));
    }
    return policy;
}

/** A Prometheus duration within `range` (the bounds policyProblems checks, with their own messages). */
const prom = (range: string) => ({ pattern: PROM_DURATION, accepts: `${PROM_DURATION_ACCEPTS}, ${range}` });
const INTERVAL = prom("from 10s to 24h");
const WINDOW = prom("at most releaseInterval and at least two prometheusScrapeInterval");
const SECOND_TO_DAY = prom("from 1s to 24h");

const PROMETHEUS_URL = urlGrammar(["https?"], {
    accepts: "an http(s):// URL with a host (no spaces, credentials or fragment, at most 2048)",
    userInfo: true,
});
const PASSWORD = secretText("a password", 1024);

/** The Prometheus URL (credentials in it are refused by policyProblems, with what to do instead). */
function prometheusUrl(r: Reader): string | undefined {
    return r.string("prometheusUrl", {
        ...PROMETHEUS_URL,
        doc: "Prometheus the release bot queries (credentials go in prometheusUser/prometheusPassword or prometheusToken).",
        field: "policy.prometheusUrl",
        flag: { name: "prometheus-url", arg: "<url>" },
    });
}

function offWhenZero(n: number): number | undefined {
    return n > 0 ? n : undefined;
}

/**
 * Only the release policy, from `raw` (keys of other groups are ignored, not checked). Throws a
 * {@link ConfigError} listing the policy's problems.
 */
export function parsePolicy(
    raw: Record<string, string>,
    secretKeys: ReadonlySet<string> = new Set(),
    o: { onlyGiven?: boolean } = {},
): ReleasePolicy {
    const r = new Reader(raw, secretKeys);
    const policy = readPolicy(r, o.onlyGiven ? new Set(Object.keys(raw)) : undefined);
    if (r.problems.length > 0) {
        throw new ConfigError(r.redact(r.problems));
    }
    return policy;
}

/** The policy's keys, in declaration order (the release bot's flags come from their `flag`). */
export function policyKeySpecs(): KeySpec[] {
    const r = new Reader({});
    readPolicy(r);
    return r.specs;
}

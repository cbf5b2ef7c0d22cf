/**
 * Canary analysis: the checks of a release and the verdict of one analysis.
 *
 * Decisions follow Flagger and Argo Rollouts where they are safe, and are explicit where they are not:
 * - a check without data (empty result, NaN, too few requests) follows the no-data policy: fail, hold or pass;
 * - a query error or an unreachable Prometheus never passes an analysis: it is an "error" analysis, counted apart
 *   (consecutive error limit), and the step is analysed again.
 */
import { latencyP99Query, requestCountQuery, successRateQuery } from "../../components/promql";
import { CustomCheck, NoDataPolicy, ReleasePolicy } from "../../config/policy";
import { MetricsSource, QueryResult } from "./prometheus";

/** One check: a PromQL query over the canary and the range its value must be in. */
export interface Check {
    name: string;
    query: string;
    min?: number;
    max?: number;
    /** Unit shown in logs and reports. */
    unit?: string;
}

/** The outcome of one check in one analysis. */
export interface CheckResult {
    name: string;
    /** The value, when there was one. */
    value?: number;
    verdict: "pass" | "fail" | "no-data" | "error";
    /** Why it failed, had no data, or errored. */
    reason?: string;
    min?: number;
    max?: number;
    unit?: string;
}

/** The verdict of one analysis: pass, fail, hold (no data, waiting) or error (no promotion, try again). */
export type Verdict = "pass" | "fail" | "hold" | "error";

export interface Analysis {
    checks: CheckResult[];
    verdict: Verdict;
}

/** Where the canary runs, for the built-in queries. */
export interface CanaryTarget {
    namespace: string;
    /** Name of the canary Deployment (Istio's destination_workload). */
    workload: string;
    /** The release's version (Istio's destination_version): requests to an older canary image do not count. */
    version?: string;
}

/** The selector of the built-in queries over the target. */
function targetQuery(target: CanaryTarget, interval: string) {
    return { namespace: target.namespace, workload: target.workload, version: target.version, interval };
}

/** The checks a policy asks for: success rate, p99 latency, then custom ones. */
export function buildChecks(policy: ReleasePolicy, target: CanaryTarget): Check[] {
    const q = targetQuery(target, policy.metricWindow);
    const checks: Check[] = [];
    if (policy.minSuccessRate !== undefined) {
        checks.push({ name: "success-rate", query: successRateQuery(q), min: policy.minSuccessRate, unit: "%" });
    }
    if (policy.maxLatencyMs !== undefined) {
        checks.push({ name: "latency-p99", query: latencyP99Query(q), max: policy.maxLatencyMs, unit: "ms" });
    }
    checks.push(...policy.checks.map((c: CustomCheck) => ({ ...c })));
    return checks;
}

/** Judges one value against a check's range. */
export function judge(check: Check, result: QueryResult): CheckResult {
    const base = { name: check.name, min: check.min, max: check.max, unit: check.unit };
    if (result.kind !== "value") {
        return { ...base, verdict: result.kind, reason: result.reason };
    }
    const v = result.value;
    if (check.min !== undefined && !(v >= check.min)) {
        return { ...base, value: v, verdict: "fail", reason: `below the minimum ${check.min}` };
    }
    if (check.max !== undefined && !(v <= check.max)) {
        return { ...base, value: v, verdict: "fail", reason: `above the maximum ${check.max}` };
    }
    return { ...base, value: v, verdict: "pass" };
}

/**
 * Combines check results: any error -> error; else any fail -> fail; else any no-data -> the no-data policy
 * ("hold" until `heldSoFar` reaches the hold limit, then fail); else pass.
 */
export function verdictOf(results: CheckResult[], noData: NoDataPolicy, heldSoFar: number, holdLimit: number): Verdict {
    if (results.some((r) => r.verdict === "error")) {
        return "error";
    }
    if (results.some((r) => r.verdict === "fail")) {
        return "fail";
    }
    if (results.some((r) => r.verdict === "no-data")) {
        if (noData === "pass") {
            return "pass";
        }
        if (noData === "hold" && heldSoFar < holdLimit) {
            return "hold";
        }
        return "fail";
    }
    return "pass";
}

/**
 * Runs every check once. With a minimum request count, a canary that served fewer requests has no data for
 * every check (its rates are not meaningful yet).
 */
export async function analyse(
    source: MetricsSource,
    checks: Check[],
    policy: ReleasePolicy,
    target: CanaryTarget,
    heldSoFar: number,
): Promise<Analysis> {
    const results: CheckResult[] = [];
    if (policy.minRequests > 0) {
        const query = requestCountQuery(targetQuery(target, policy.metricWindow));
        const enough = judge({ name: "request-count", query, min: policy.minRequests }, await safeQuery(source, query));
        if (enough.verdict !== "pass") {
            const verdict = enough.verdict === "fail" ? "no-data" : enough.verdict;
            results.push({
                ...enough,
                verdict,
                reason:
                    enough.verdict === "fail"
                        ? `${enough.value ?? 0} requests, fewer than the minimum ${policy.minRequests}`
                        : enough.reason,
            });
            return { checks: results, verdict: verdictOf(results, policy.noData, heldSoFar, policy.holdLimit) };
        }
        results.push(enough);
    }
    for (const check of checks) {
        results.push(judge(check, await safeQuery(source, check.query)));
    }
    return { checks: results, verdict: verdictOf(results, policy.noData, heldSoFar, policy.holdLimit) };
}

/** A query whose failure of any kind (even a throwing metrics source) is an "error" result, never an exception. */
export async function safeQuery(source: MetricsSource, promql: string): Promise<QueryResult> {
    try {
        return await source.query(promql);
    } catch (e) {
        return { kind: "error", reason: `the query failed: ${e instanceof Error ? e.message : String(e)}` };
    }
}

/** "success-rate=99.80% (min 99) pass" */
export function describeCheck(r: CheckResult): string {
    const value =
        r.value === undefined ? "-" : `${Number.isInteger(r.value) ? r.value : r.value.toFixed(2)}${r.unit ?? ""}`;
    const range = [r.min !== undefined ? `min ${r.min}` : "", r.max !== undefined ? `max ${r.max}` : ""]
        .filter(Boolean)
        .join(", ");
    return `${r.name}=${value}${range ? ` (${range})` : ""} ${r.verdict}${r.reason && r.verdict !== "pass" ? `: ${r.reason}` : ""}`;
}

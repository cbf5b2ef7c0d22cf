/**
 * PromQL for Istio's standard metrics. Istio labels requests with destination_workload (the Deployment name) and
 * destination_version (the pod's `version` label); reporter="destination" series come from the server-side proxy.
 */

import { serviceHost } from "./names";

/** Quotes a string as a PromQL string literal. */
export function promString(value: string): string {
    return JSON.stringify(value);
}

/** Requests per second per version for a service, the query that shows the traffic split. */
export function splitByVersionQuery(opts: { namespace: string; service: string; window?: string }): string {
    const host = serviceHost(opts.service, opts.namespace);
    return (
        `sum by (destination_version) (rate(istio_requests_total{reporter="destination",` +
        `destination_service=${promString(host)}}[${opts.window ?? "1m"}]))`
    );
}

/** Which workload's server-side series a query reads; with `version`, only that version's pods. */
export interface WorkloadQuery {
    namespace: string;
    workload: string;
    interval: string;
    /** The pods' `version` label (Istio's destination_version), e.g. so a canary's older image is not counted. */
    version?: string;
}

/** The label selector of one workload's server-side series. */
function workloadSelector(opts: Omit<WorkloadQuery, "interval">): string {
    return (
        `reporter="destination",destination_workload_namespace=${promString(opts.namespace)},` +
        `destination_workload=~${promString(opts.workload)}` +
        (opts.version === undefined ? "" : `,destination_version=${promString(opts.version)}`)
    );
}

/**
 * Request success rate of a workload in percent (non-5xx / all), as Flagger's built-in Istio check, with one
 * change: when every response is a 5xx there are no non-5xx series, and Flagger's query returns nothing (no data,
 * which a "pass" no-data policy would promote); `or on() vector(0)` makes that 0%. No traffic at all still
 * returns nothing.
 */
export function successRateQuery(opts: WorkloadQuery): string {
    const sel = workloadSelector(opts);
    return (
        `(sum(rate(istio_requests_total{${sel},response_code!~"5.*"}[${opts.interval}])) or on() vector(0)) / ` +
        `sum(rate(istio_requests_total{${sel}}[${opts.interval}])) * 100`
    );
}

/** p99 request duration of a workload in milliseconds, as Flagger's built-in Istio check. */
export function latencyP99Query(opts: WorkloadQuery): string {
    return (
        `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${workloadSelector(opts)}}` +
        `[${opts.interval}])) by (le))`
    );
}

/** Number of requests a workload served over the interval (for a minimum-traffic guard). */
export function requestCountQuery(opts: WorkloadQuery): string {
    return `sum(increase(istio_requests_total{${workloadSelector(opts)}}[${opts.interval}]))`;
}

/**
 * The release policy's shape: one typed value, {@link ReleasePolicy}, with every field declared here once. Its keys
 * (names, docs, defaults, flags) are declared where they are read: policy.ts, policy-gates.ts and policy-hooks.ts;
 * its rules as a whole are in policy-rules.ts.
 */
import { Gate } from "./release-state";

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

/** How the bot rolls back: a direct routing patch then the recording update, or the update alone. */
export const ROLLBACK_MODES = ["fast", "update"] as const;
export type RollbackMode = (typeof ROLLBACK_MODES)[number];

/** Flagger's hook points: before any traffic, at each analysis, before and after completion, on rollback, every event. */
export const HOOK_TYPES = ["pre-rollout", "rollout", "confirm-promotion", "post-rollout", "rollback", "event"] as const;
export type HookType = (typeof HOOK_TYPES)[number];

/** One webhook. */
export interface HookSpec {
    name: string;
    type: HookType;
    /** http(s) URL the JSON payload is POSTed to. */
    url: string;
    /** Timeout of each attempt (a Prometheus-style duration). */
    timeout: string;
    /** Attempts after the first when one fails (non-2xx, timeout, connection error), with exponential backoff. */
    retries: number;
    /** Extra fields passed in the payload as `metadata`. */
    metadata?: Record<string, string>;
}

/** The policy's gate and promotion fields. */
export interface GatePolicy {
    /** Manual gates: before these step weights ("50") and/or before completion ("complete"). */
    gates: Gate[];
    /** How long a version must have run as stable on the source stack before promotion to this stack. */
    promotionSoakTime?: string;
    /** Each version needs an approval recorded on this stack before promotion releases it here. */
    promotionRequireApproval: boolean;
}

/** The policy's hook and load fields. */
export interface HookPolicy {
    hooks: HookSpec[];
    /** Secret: key of the HMAC-SHA256 signature over each call's body. */
    hookSecret?: string;
    /** How long confirm-promotion hooks are asked for a 2xx before the release pauses. */
    hookConfirmLimit: string;
    /** Load while judging: sent to this URL during each analysis window, when set. */
    loadUrl?: string;
    /** Requests per second. */
    loadRate: number;
    /** At most this many requests per analysis window. */
    loadMaxRequests: number;
    /** Timeout of each load request. */
    loadTimeout: string;
    /** Send the canary header (canaryHeader, canaryHeaderValue) with the load, so it reaches the canary. */
    loadCanaryHeader: boolean;
}

/**
 * Release policy: read by the release bot, validated by the program so a bad policy fails `pulumi preview`. Its keys are
 * read by policy.ts, policy-gates.ts (gates and promotion) and policy-hooks.ts (hooks and load).
 */
export interface ReleasePolicy extends GatePolicy, HookPolicy {
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
    /** How the bot moves traffic back to stable on a rollback. */
    rollback: RollbackMode;
    prometheusUrl?: string;
    prometheusTimeout: string;
    /** Prometheus's scrape interval: the metric window must span at least two. */
    scrapeInterval: string;
    prometheusUser?: string;
    /** Secret. */
    prometheusPassword?: string;
    /** Secret. */
    prometheusToken?: string;
    /** Policy pack (a directory with PulumiPolicy.yaml) run on every preview and update of the release. */
    policyPack?: string;
    /** JSON file configuring the policy pack (`--policy-pack-config`). */
    policyPackConfig?: string;
}

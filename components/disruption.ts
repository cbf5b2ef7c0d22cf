/**
 * PodDisruptionBudgets per track: how many pods a voluntary disruption (a node drain, an eviction by the cluster
 * autoscaler) may take at once. Pure: tested without mocks.
 *
 * Budgets are written as `maxUnavailable`, never `minAvailable`, so they hold whatever the replica count is (a
 * HorizontalPodAutoscaler's included), and a Deployment's own rollout or scale-down (a rollback, a completion) is
 * never held back: budgets only govern evictions.
 */
import { Track } from "./names";
import { selectorLabels } from "./routing";

/** The most pods of each track an eviction may take down: stable one at a time, the canary all at once. */
export const DISRUPTION_BUDGETS: Readonly<Record<Track, number | string>> = { stable: 1, canary: "100%" };

/** The spec of a track's PodDisruptionBudget (policy/v1). */
export interface PodDisruptionBudgetSpec {
    selector: { matchLabels: Record<string, string> };
    maxUnavailable: number | string;
    /** Pods that are not ready may always be evicted: a broken pod never blocks a node drain. */
    unhealthyPodEvictionPolicy: "AlwaysAllow";
}

/**
 * The budget of a track's pods: stable keeps all but one available during a drain (so a rollback always lands on
 * capacity), the canary may lose all of them (it never blocks a drain; the stable track is the fallback).
 */
export function buildPodDisruptionBudgetSpec(app: string, track: Track): PodDisruptionBudgetSpec {
    return {
        selector: { matchLabels: selectorLabels(app, track) },
        maxUnavailable: DISRUPTION_BUDGETS[track],
        unhealthyPodEvictionPolicy: "AlwaysAllow",
    };
}

/**
 * Autoscaling during a canary: one HorizontalPodAutoscaler (autoscaling/v2) per track, and the rules that size
 * them. Pure: tested without mocks.
 *
 * - The stable's HPA has the user's bounds (`replicas` .. `autoscaling.maxReplicas`) whatever the weight: the
 *   canary's share never inflates it, and it is never lowered during a release, so a rollback lands on at least
 *   the stable's minimum.
 * - The canary's HPA bounds follow the weight: at weight w its minimum is ceil(w/100 x the stable's current
 *   replicas (what its HPA chose, read from the cluster at each update; never fewer than the stable's minimum)),
 *   at least 1, and its maximum ceil(w/100 x the stable's maximum), at least its minimum. So a shift to 50% while
 *   the stable runs 8 pods lands the canary on at least 4, not on its share of the stable's minimum.
 * - With no release in progress (no canary, and no header, cookie or mirror route to it) the canary has neither a
 *   Deployment nor an HPA: nothing is left running and nothing can scale it up again.
 */
import { Track } from "./names";

/** The API version of the HorizontalPodAutoscalers. */
export const HPA_API_VERSION = "autoscaling/v2";

/** Bounds of one HorizontalPodAutoscaler. */
export interface ReplicaBounds {
    minReplicas: number;
    maxReplicas: number;
}

/** ceil(weight/100 x replicas), in integers (no floating-point rounding at exact multiples). */
export function weightShare(weight: number, replicas: number): number {
    return Math.floor((weight * replicas + 99) / 100);
}

/**
 * The canary's minimum at `weight` (0..100): ceil(weight/100 x stableReplicas), at least 1 (a canary that exists
 * serves its routes from at least one pod).
 */
export function canaryMinReplicas(weight: number, stableReplicas: number): number {
    return Math.max(1, weightShare(weight, stableReplicas));
}

/**
 * The canary HPA's bounds at `weight`, from the stable HPA's bounds and the stable's current replica count
 * (`stableReplicas`, what its HPA chose; unknown before the stable exists): the minimum is the weight's share of
 * the larger of that count and the stable's minimum.
 */
export function canaryBounds(weight: number, stable: ReplicaBounds, stableReplicas?: number): ReplicaBounds {
    const minReplicas = canaryMinReplicas(weight, Math.max(stable.minReplicas, stableReplicas ?? 0));
    return { minReplicas, maxReplicas: Math.max(minReplicas, weightShare(weight, stable.maxReplicas)) };
}

/** What the HPAs scale on, and how fast they scale in. */
export interface HpaTuning {
    /** Average CPU utilisation (percent of the pods' CPU request) the HPA keeps the pods at. */
    targetCpuUtilization: number;
    /** Seconds of recommendations the HPA looks back on before it scales in (behavior.scaleDown). */
    scaleDownStabilizationSeconds?: number;
}

/** The spec of a track's HorizontalPodAutoscaler (autoscaling/v2). */
export interface HpaSpec {
    scaleTargetRef: { apiVersion: "apps/v1"; kind: "Deployment"; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: {
        type: "Resource";
        resource: { name: "cpu"; target: { type: "Utilization"; averageUtilization: number } };
    }[];
    behavior?: { scaleDown: { stabilizationWindowSeconds: number } };
}

/** The HPA of the Deployment `deployment` with `bounds` and `tuning`. */
export function buildHpaSpec(deployment: string, bounds: ReplicaBounds, tuning: HpaTuning): HpaSpec {
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment },
        minReplicas: bounds.minReplicas,
        maxReplicas: bounds.maxReplicas,
        metrics: [
            {
                type: "Resource",
                resource: {
                    name: "cpu",
                    target: { type: "Utilization", averageUtilization: tuning.targetCpuUtilization },
                },
            },
        ],
        ...(tuning.scaleDownStabilizationSeconds !== undefined
            ? { behavior: { scaleDown: { stabilizationWindowSeconds: tuning.scaleDownStabilizationSeconds } } }
            : {}),
    };
}

/** A track's HPA bounds: the stable's own, the canary's by the weight and the stable's current replicas. */
export function trackBounds(
    track: Track,
    weight: number,
    stable: ReplicaBounds,
    stableReplicas?: number,
): ReplicaBounds {
    return track === "stable" ? stable : canaryBounds(weight, stable, stableReplicas);
}

/**
 * The property a Deployment that an HPA scales leaves to it: Pulumi sets it when it creates the Deployment (the
 * HPA's minimum) and never again, so no `pulumi up` resets the HPA's choice.
 */
export const HPA_OWNED_PATHS = ["spec.replicas"];

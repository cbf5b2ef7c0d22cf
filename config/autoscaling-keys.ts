/**
 * The autoscaling keys ("Autoscaling" in the README's reference): a HorizontalPodAutoscaler per track, whose
 * stable minimum is `replicas`. Off by default; defaults and ranges are the component's own.
 */
import {
    AutoscalingArgs,
    CANARY_RELEASE_DEFAULTS as D,
    CANARY_RELEASE_LIMITS as L,
} from "../components/canary-release-args";
import { Reader } from "./reader";

/** Reads the autoscaling group: the component's `autoscaling`, or undefined when `autoscaling` is false. */
export function readAutoscaling(r: Reader): { autoscaling?: AutoscalingArgs } {
    r.group = "Autoscaling";
    const on = r.bool("autoscaling", {
        doc: "A HorizontalPodAutoscaler per track (CPU): the stable's scales from replicas to autoscalingMaxReplicas, the canary's bounds follow its weight, and `pulumi up` no longer sets the Deployments' replica counts. canaryReplicas and canaryScaling do not apply.",
        def: false,
    });
    const maxReplicas = r.int("autoscalingMaxReplicas", {
        doc: "Most replicas of the stable track (at least replicas); the canary's maximum is its weight's share of it.",
        limits: L.autoscalingMaxReplicas,
        def: D.autoscalingMaxReplicas,
        field: "release.autoscaling.maxReplicas",
    });
    const targetCpuUtilization = r.int("autoscalingTargetCpu", {
        doc: "Average CPU utilisation, in percent of the CPU request, the HPAs keep each track's pods at.",
        limits: L.autoscalingTargetCpuUtilization,
        def: D.autoscalingTargetCpuUtilization,
        field: "release.autoscaling.targetCpuUtilization",
    });
    const scaleDownStabilizationSeconds = r.optionalInt("autoscalingScaleDownSeconds", {
        doc: "Seconds of recommendations the HPAs look back on before they scale in (behavior.scaleDown.stabilizationWindowSeconds); unset: Kubernetes' 300.",
        limits: L.autoscalingScaleDownStabilizationSeconds,
        field: "release.autoscaling.scaleDownStabilizationSeconds",
    });
    if (!on) {
        return {};
    }
    return {
        autoscaling: {
            maxReplicas,
            targetCpuUtilization,
            ...(scaleDownStabilizationSeconds !== undefined ? { scaleDownStabilizationSeconds } : {}),
        },
    };
}

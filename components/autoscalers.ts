/**
 * The HorizontalPodAutoscalers of CanaryRelease (the rules that size them are in autoscaling.ts, pure).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { buildHpaSpec, trackBounds } from "./autoscaling";
import { AutoscalingArgs, CANARY_RELEASE_DEFAULTS as D } from "./canary-release-args";
import { deploymentName, Track, TRACKS } from "./names";

/** What the HPAs of one release are made from. */
export interface AutoscalersOf {
    app: string;
    ns: string;
    autoscaling: AutoscalingArgs;
    /** The tracks' Deployments; a track without one (the canary with no release in progress) gets no HPA. */
    deployments: Record<Track, k8s.apps.v1.Deployment | undefined>;
    /** The stable's minimum (`replicas`). */
    replicas: pulumi.Output<number>;
    canaryWeight: pulumi.Output<number>;
}

/**
 * The stable's current replica count (what its HPA chose), read from the cluster at every update and preview:
 * a read of the live Deployment (`${name}-stable-live`, op `read`, which changes nothing) once the stable's
 * Deployment is registered. Unknown (undefined) in a preview that creates the stable.
 */
function liveReplicas(
    name: string,
    stable: k8s.apps.v1.Deployment,
    parent: pulumi.Resource,
): pulumi.Output<number | undefined> {
    const live = k8s.apps.v1.Deployment.get(
        `${name}-stable-live`,
        pulumi.interpolate`${stable.metadata.namespace}/${stable.metadata.name}`,
        { parent, dependsOn: [stable] },
    );
    return live.spec.apply((spec) => spec?.replicas);
}

/**
 * One HPA per track that has a Deployment. Each depends on its Deployment: created after it and deleted before
 * it, so the canary's HPA is gone before its pods are and no scale-up can bring them back. The canary's bounds
 * follow its weight and the stable's current replica count: `autoscaling.stableReplicas` when given (the bot pins
 * it), else read from the live Deployment while the canary exists.
 */
export function registerAutoscalers(
    name: string,
    a: AutoscalersOf,
    opts: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] },
): k8s.autoscaling.v2.HorizontalPodAutoscaler[] {
    const tuning = {
        targetCpuUtilization: a.autoscaling.targetCpuUtilization ?? D.autoscalingTargetCpuUtilization,
        scaleDownStabilizationSeconds: a.autoscaling.scaleDownStabilizationSeconds,
    };
    const pinned = a.autoscaling.stableReplicas;
    const stableNow =
        pinned !== undefined
            ? pulumi.output(pinned)
            : a.deployments.canary !== undefined && a.deployments.stable !== undefined
              ? liveReplicas(name, a.deployments.stable, opts.parent)
              : pulumi.output(undefined);
    return TRACKS.flatMap((track) => {
        const target = a.deployments[track];
        if (target === undefined) {
            return [];
        }
        const deployment = deploymentName(a.app, track);
        const spec = pulumi
            .all([a.replicas, a.canaryWeight, track === "canary" ? stableNow : pulumi.output(undefined)])
            .apply(([replicas, weight, current]) =>
                buildHpaSpec(
                    deployment,
                    trackBounds(
                        track,
                        weight,
                        { minReplicas: replicas, maxReplicas: a.autoscaling.maxReplicas },
                        current,
                    ),
                    tuning,
                ),
            );
        return [
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-${track}-hpa`,
                { metadata: { name: deployment, namespace: a.ns, labels: { app: a.app } }, spec },
                { ...opts, dependsOn: [...opts.dependsOn, target] },
            ),
        ];
    });
}

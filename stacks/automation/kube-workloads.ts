/**
 * The live replica counts of Deployments, as the release bot reads them with autoscaling: the stable's HPA chooses
 * the count, and the bot pins it in stack config for its updates (`releaseStableReplicas`).
 */
import { KubeApi } from "./kube-api";

/** Replica counts of live Deployments (a fake in unit tests). */
export interface ReplicaSource {
    /** `spec.replicas` of the Deployment, or undefined when there is none (or it sets none). */
    replicas(namespace: string, deployment: string): Promise<number | undefined>;
}

/** {@link ReplicaSource} over the Kubernetes API (the kubeconfig the Kubernetes provider uses). */
export class KubeWorkloads implements ReplicaSource {
    constructor(private readonly api: KubeApi) {}

    async replicas(namespace: string, deployment: string): Promise<number | undefined> {
        const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(deployment)}`;
        return (await this.api.find<{ spec?: { replicas?: number } }>(path))?.spec?.replicas;
    }
}

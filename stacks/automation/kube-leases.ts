/**
 * The cluster's Leases (`coordination.k8s.io/v1`) as the release lease uses them (stacks/release/kube-lease.ts):
 * get, create, and replace and delete with a resourceVersion precondition, over {@link KubeApi}.
 */
import { KubeApi, KubeApiError } from "./kube-api";

/** What a Lease says (coordination.k8s.io/v1 LeaseSpec; times are MicroTime: RFC 3339 with microseconds). */
export interface LeaseSpec {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
}

/** A Lease object as the API returns it (the fields the bot reads and writes). */
export interface LeaseObject {
    metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
    spec: LeaseSpec;
}

/** The Lease changed since it was read (409 Conflict), was created by another at the same time, or is gone. */
export class LeaseConflictError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LeaseConflictError";
    }
}

/** The Leases of the API server, as the bot uses them (a fake with the same resourceVersion rules in unit tests). */
export interface LeaseApi {
    /** The Lease, or undefined when there is none. */
    get(namespace: string, name: string): Promise<LeaseObject | undefined>;
    /** Creates it; throws {@link LeaseConflictError} when it exists. */
    create(lease: LeaseObject): Promise<LeaseObject>;
    /** Replaces it when its resourceVersion is still `lease.metadata.resourceVersion`; else {@link LeaseConflictError}. */
    replace(lease: LeaseObject): Promise<LeaseObject>;
    /** Deletes it when its resourceVersion is still `resourceVersion` (conflict: {@link LeaseConflictError}; gone: done). */
    delete(namespace: string, name: string, resourceVersion: string): Promise<void>;
}

const LEASES = "/apis/coordination.k8s.io/v1/namespaces";

/** {@link LeaseApi} over the Kubernetes API (the kubeconfig the Kubernetes provider uses). */
export class KubeLeases implements LeaseApi {
    constructor(private readonly api: KubeApi) {}

    private path(namespace: string, name?: string): string {
        const base = `${LEASES}/${encodeURIComponent(namespace)}/leases`;
        return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
    }

    private async conflicts<T>(what: string, call: () => Promise<T>): Promise<T> {
        try {
            return await call();
        } catch (e) {
            // 409: changed (or created) by another; 404 on a replace: deleted by another.
            if (e instanceof KubeApiError && (e.status === 409 || (e.status === 404 && what !== "create"))) {
                throw new LeaseConflictError(e.message);
            }
            throw e;
        }
    }

    get(namespace: string, name: string): Promise<LeaseObject | undefined> {
        return this.api.find<LeaseObject>(this.path(namespace, name));
    }

    create(lease: LeaseObject): Promise<LeaseObject> {
        const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease };
        return this.conflicts("create", () =>
            this.api.request<LeaseObject>("POST", this.path(lease.metadata.namespace), body),
        );
    }

    replace(lease: LeaseObject): Promise<LeaseObject> {
        const { name, namespace } = lease.metadata;
        const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease };
        return this.conflicts("replace", () => this.api.request<LeaseObject>("PUT", this.path(namespace, name), body));
    }

    async delete(namespace: string, name: string, resourceVersion: string): Promise<void> {
        const body = { apiVersion: "v1", kind: "DeleteOptions", preconditions: { resourceVersion } };
        try {
            await this.conflicts("delete", () => this.api.request("DELETE", this.path(namespace, name), body));
        } catch (e) {
            if (!(e instanceof LeaseConflictError && /404/.test(e.message))) {
                throw e;
            }
        }
    }
}

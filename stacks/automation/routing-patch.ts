/**
 * The release bot's fast rollback: all of the default route back on stable with one server-side apply of the
 * live VirtualService's routes, in milliseconds, before the `pulumi up` that records the same routes.
 *
 * Istio's VirtualService schema makes `spec.http` an atomic list, so the apply sends the whole list: the live
 * routes with the weighted route at stable 100 / canary 0 (and, after a mirror phase, the mirror the program
 * routes once the release is rolled back). That is exactly what the recording update applies next, so the
 * Kubernetes provider's apply does not conflict with ours; it shares ownership of the same values, and then our
 * field manager hands its share back ({@link KubeRouting.handBack}), leaving the object as Pulumi alone manages it.
 * The patch is refused (and the bot falls back to the update) unless the live routes are the ones Pulumi applied.
 */
import { ISTIO_NETWORKING_API_VERSION, HTTPRoute } from "../../components/istio-types";
import { ROUTE_NAMES, MAX_WEIGHT } from "../../components/routing";
import { KubeApi } from "./kube-api";

/** Our field manager: distinct from the Kubernetes provider's, so ownership of what we apply is visible. */
export const ROLLBACK_FIELD_MANAGER = "istio-canary-rollback";

/** The VirtualService of a release. */
export interface RouteTarget {
    namespace: string;
    name: string;
}

/** What a routing patch did. */
export interface RouteOff {
    /** False when the live routes already sent everything to stable. */
    changed: boolean;
}

/** The port the release bot rolls back through (a fake in unit tests). */
export interface RoutingControl {
    /**
     * Sends all of the default route to stable now. `mirrorPercent`: the mirror the program routes after the
     * rollback (0 removes it), or undefined to leave the mirror as it is. Throws when it cannot.
     */
    routeToStable(target: RouteTarget, mirrorPercent?: number): Promise<RouteOff>;
    /** Hands our field manager's ownership back, once Pulumi's apply holds the same routes. */
    handBack(target: RouteTarget): Promise<void>;
}

interface ManagedFields {
    manager: string;
    operation: string;
    fieldsV1?: { "f:spec"?: Record<string, unknown> };
}

interface LiveVirtualService {
    metadata: { managedFields?: ManagedFields[] };
    spec: { http?: HTTPRoute[] };
}

/**
 * The routes with the weighted route on stable and, when `mirrorPercent` is given, that mirror. Pure; throws when
 * there is no weighted route with both subsets.
 */
export function stableRoutes(http: readonly HTTPRoute[], mirrorPercent?: number): HTTPRoute[] {
    const weighted = http.find((h) => h.name === ROUTE_NAMES.weighted);
    const subsets = weighted?.route.map((d) => d.destination.subset).sort();
    if (!weighted || JSON.stringify(subsets) !== JSON.stringify(["canary", "stable"])) {
        throw new Error(`no "${ROUTE_NAMES.weighted}" route with a stable and a canary destination`);
    }
    // At weight 0 there is no session affinity (components/routing.ts): its route and its Set-Cookie go.
    return http
        .filter((h) => h.name !== ROUTE_NAMES.affinity)
        .map((h) => {
            if (h !== weighted) {
                return h;
            }
            const route = h.route.map(({ headers: _h, ...d }) => ({
                ...d,
                weight: d.destination.subset === "stable" ? MAX_WEIGHT : 0,
            }));
            if (mirrorPercent === undefined) {
                return { ...h, route };
            }
            const { mirror, mirrorPercentage: _m, ...rest } = h;
            if (mirrorPercent === 0) {
                return { ...rest, route };
            }
            if (!mirror) {
                throw new Error(`the "${ROUTE_NAMES.weighted}" route has no mirror to set to ${mirrorPercent}%`);
            }
            return { ...rest, route, mirror, mirrorPercentage: { value: mirrorPercent } };
        });
}

/** Managers other than ours that own `spec.http` by an apply. */
export function httpAppliers(managed: readonly ManagedFields[] = []): string[] {
    return managed
        .filter((m) => m.manager !== ROLLBACK_FIELD_MANAGER && m.operation === "Apply")
        .filter((m) => m.fieldsV1?.["f:spec"]?.["f:http"] !== undefined)
        .map((m) => m.manager);
}

/** {@link RoutingControl} over the Kubernetes API. */
export class KubeRouting implements RoutingControl {
    constructor(private readonly api: KubeApi) {}

    /** Over the API server of the kubeconfig the Kubernetes provider uses; throws when it cannot be read. */
    static fromKubeconfig(): KubeRouting {
        return new KubeRouting(KubeApi.fromKubeconfig());
    }

    /** Closes the kept-alive connection. */
    close(): void {
        this.api.close();
    }

    private path(t: RouteTarget): string {
        return `/apis/${ISTIO_NETWORKING_API_VERSION}/namespaces/${encodeURIComponent(t.namespace)}/virtualservices/${encodeURIComponent(t.name)}`;
    }

    private apply(t: RouteTarget, spec: object | undefined): Promise<unknown> {
        const body = {
            apiVersion: ISTIO_NETWORKING_API_VERSION,
            kind: "VirtualService",
            metadata: { name: t.name, namespace: t.namespace },
            ...(spec ? { spec } : {}),
        };
        // JSON is YAML: an apply patch. force: the provider's manager owns these fields; ours takes them over.
        return this.api.request(
            "PATCH",
            `${this.path(t)}?fieldManager=${ROLLBACK_FIELD_MANAGER}&force=true`,
            body,
            "application/apply-patch+yaml",
        );
    }

    async routeToStable(t: RouteTarget, mirrorPercent?: number): Promise<RouteOff> {
        const live = await this.api.request<LiveVirtualService>("GET", this.path(t));
        if (httpAppliers(live.metadata.managedFields).length === 0) {
            const owners = (live.metadata.managedFields ?? []).map((m) => `${m.manager} (${m.operation})`);
            throw new Error(
                `the live routes of ${t.namespace}/${t.name} are not the ones Pulumi applied (managers: ${owners.join(", ") || "none"})`,
            );
        }
        const http = live.spec.http ?? [];
        const target = stableRoutes(http, mirrorPercent);
        if (JSON.stringify(target) === JSON.stringify(http)) {
            return { changed: false };
        }
        await this.apply(t, { http: target });
        return { changed: true };
    }

    async handBack(t: RouteTarget): Promise<void> {
        const live = await this.api.request<LiveVirtualService>("GET", this.path(t));
        const ours = live.metadata.managedFields?.some((m) => m.manager === ROLLBACK_FIELD_MANAGER);
        if (!ours) {
            return;
        }
        // Applying nothing removes our claims; fields no other manager holds would be removed with them.
        if (httpAppliers(live.metadata.managedFields).length === 0) {
            throw new Error(
                `Pulumi does not hold the routes of ${t.namespace}/${t.name} yet; run \`pulumi up\`, then roll back again to hand them back`,
            );
        }
        await this.apply(t, undefined);
    }
}

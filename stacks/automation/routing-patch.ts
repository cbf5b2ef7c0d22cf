/**
 * The release bot's fast rollback: all of the default route back on stable with one server-side apply of each
 * live route object (the VirtualService; with the Gateway API, the HTTPRoutes or GRPCRoutes of external and of
 * in-mesh traffic), in milliseconds, before the `pulumi up` that records the same routes.
 *
 * Both schemas make the routes an atomic list (a VirtualService's `spec.http`, a route's `spec.rules`), so the
 * apply sends the whole list: the live routes with the weighted route at stable 100 / canary 0 (and, after a mirror
 * phase, the mirror the program routes once the release is rolled back). The recording update applies the same
 * routes next. A VirtualService has no server-side defaults, so the Kubernetes provider's apply holds exactly our
 * values and does not conflict: it shares their ownership. A Gateway API route does conflict (the API server compares
 * the provider's rules, without the defaults it adds such as a backendRef's group and kind, with the stored ones), so
 * the shifted routes carry `pulumi.com/patchForce: "true"` (components/routes.ts) and the provider's apply takes them
 * over. Either way our field manager then hands back what it still holds ({@link KubeRouting.handBack}), leaving the
 * object as Pulumi alone manages it. The patch is refused (and the bot falls back to the update) unless the live
 * routes are the ones Pulumi applied.
 */
import {
    BackendRef,
    GATEWAY_API_VERSION,
    HTTPRouteFilter,
    HTTPRouteRule,
    RouteKind,
    trackOfServiceName,
} from "../../components/gateway-api";
import { ISTIO_NETWORKING_API_VERSION, HTTPRoute } from "../../components/istio-types";
import { ROUTE_NAMES, MAX_WEIGHT } from "../../components/routing";
import { KubeApi } from "./kube-api";

/** Our field manager: distinct from the Kubernetes provider's, so ownership of what we apply is visible. */
export const ROLLBACK_FIELD_MANAGER = "istio-canary-rollback";

/** One route object of a release: its VirtualService, or one of its Gateway API routes. */
export interface RouteTarget {
    kind: RouteKind;
    namespace: string;
    name: string;
}

/** "VirtualService prod/shop", "GRPCRoutes prod/shop and prod/shop-mesh". */
export function describeTargets(targets: readonly RouteTarget[]): string {
    const kinds = [...new Set(targets.map((t) => t.kind))].join(" and ");
    return `${kinds}${targets.length > 1 ? "s" : ""} ${targets.map((t) => `${t.namespace}/${t.name}`).join(" and ")}`;
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

interface LiveRoutes {
    metadata: { managedFields?: ManagedFields[] };
    spec: { http?: unknown[]; rules?: unknown[] };
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

/** The track of a Gateway API backend: each track has its own Service (components/gateway-api.ts). */
const trackOf = (b: { name: string }) => trackOfServiceName(b.name);

/**
 * The Gateway API rules (an HTTPRoute's or a GRPCRoute's) with the weighted rule on stable and, when `mirrorPercent`
 * is given, that mirror (0 removes the RequestMirror filter). As the program builds them at weight 0: no session
 * affinity rule, no Set-Cookie on the canary's backend. Pure; throws when there is no weighted rule with a stable
 * and a canary backend.
 */
export function stableRules(rules: readonly HTTPRouteRule[], mirrorPercent?: number): HTTPRouteRule[] {
    const weighted = rules.find((r) => r.name === ROUTE_NAMES.weighted);
    const tracks = weighted?.backendRefs?.map(trackOf).sort();
    if (!weighted || JSON.stringify(tracks) !== JSON.stringify(["canary", "stable"])) {
        throw new Error(`no "${ROUTE_NAMES.weighted}" rule with a stable and a canary backend`);
    }
    return rules
        .filter((r) => r.name !== ROUTE_NAMES.affinity)
        .map((r): HTTPRouteRule => {
            if (r !== weighted) {
                return r;
            }
            const backendRefs = r.backendRefs!.map(({ filters: _f, ...b }): BackendRef => ({
                ...b,
                weight: trackOf(b) === "stable" ? MAX_WEIGHT : 0,
            }));
            const { filters = [], ...rest } = r;
            const mirror = filters.find((f) => f.type === "RequestMirror");
            if (mirrorPercent === undefined) {
                return { ...r, backendRefs };
            }
            if (mirrorPercent > 0 && mirror === undefined) {
                throw new Error(`the "${ROUTE_NAMES.weighted}" rule has no mirror to set to ${mirrorPercent}%`);
            }
            const kept = filters.flatMap((f): HTTPRouteFilter[] => {
                if (f.type !== "RequestMirror") {
                    return [f];
                }
                return mirrorPercent > 0
                    ? [{ ...f, requestMirror: { ...f.requestMirror, percent: mirrorPercent } }]
                    : [];
            });
            return { ...rest, ...(kept.length > 0 ? { filters: kept } : {}), backendRefs };
        });
}

/** How each kind of route object is addressed, where its atomic list of routes is, and how it goes to stable. */
const KINDS: Record<RouteKind, { apiVersion: string; plural: string; field: "http" | "rules"; toStable: ToStable }> = {
    VirtualService: {
        apiVersion: ISTIO_NETWORKING_API_VERSION,
        plural: "virtualservices",
        field: "http",
        toStable: (l, m) => stableRoutes(l as HTTPRoute[], m),
    },
    HTTPRoute: {
        apiVersion: GATEWAY_API_VERSION,
        plural: "httproutes",
        field: "rules",
        toStable: (l, m) => stableRules(l as HTTPRouteRule[], m),
    },
    GRPCRoute: {
        apiVersion: GATEWAY_API_VERSION,
        plural: "grpcroutes",
        field: "rules",
        toStable: (l, m) => stableRules(l as HTTPRouteRule[], m),
    },
};
type ToStable = (list: unknown[], mirrorPercent?: number) => unknown[];

/** The same JSON value, whatever the order of object keys (the API server's differs from ours). */
export function sameJson(a: unknown, b: unknown): boolean {
    const canonical = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(canonical)
            : v !== null && typeof v === "object"
              ? Object.fromEntries(
                    Object.keys(v)
                        .sort()
                        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
                )
              : v;
    return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Managers other than ours that own the routes (`spec.<field>`: `http`, or a Gateway API route's `rules`) by an apply. */
export function routeAppliers(managed: readonly ManagedFields[] = [], field: "http" | "rules" = "http"): string[] {
    return managed
        .filter((m) => m.manager !== ROLLBACK_FIELD_MANAGER && m.operation === "Apply")
        .filter((m) => m.fieldsV1?.["f:spec"]?.[`f:${field}`] !== undefined)
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
        const { apiVersion, plural } = KINDS[t.kind];
        return `/apis/${apiVersion}/namespaces/${encodeURIComponent(t.namespace)}/${plural}/${encodeURIComponent(t.name)}`;
    }

    private apply(t: RouteTarget, spec: object | undefined): Promise<unknown> {
        const body = {
            apiVersion: KINDS[t.kind].apiVersion,
            kind: t.kind,
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
        const { field, toStable } = KINDS[t.kind];
        const live = await this.api.request<LiveRoutes>("GET", this.path(t));
        if (routeAppliers(live.metadata.managedFields, field).length === 0) {
            const owners = (live.metadata.managedFields ?? []).map((m) => `${m.manager} (${m.operation})`);
            throw new Error(
                `the live routes of ${t.namespace}/${t.name} are not the ones Pulumi applied (managers: ${owners.join(", ") || "none"})`,
            );
        }
        const routes = live.spec[field] ?? [];
        const target = toStable(routes, mirrorPercent);
        if (sameJson(target, routes)) {
            return { changed: false };
        }
        await this.apply(t, { [field]: target });
        return { changed: true };
    }

    async handBack(t: RouteTarget): Promise<void> {
        const live = await this.api.request<LiveRoutes>("GET", this.path(t));
        const ours = live.metadata.managedFields?.some((m) => m.manager === ROLLBACK_FIELD_MANAGER);
        if (!ours) {
            return;
        }
        // Applying nothing removes our claims; fields no other manager holds would be removed with them.
        if (routeAppliers(live.metadata.managedFields, KINDS[t.kind].field).length === 0) {
            throw new Error(
                `Pulumi does not hold the routes of ${t.namespace}/${t.name} yet; run \`pulumi up\`, then roll back again to hand them back`,
            );
        }
        await this.apply(t, undefined);
    }
}

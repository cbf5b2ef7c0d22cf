/**
 * Readers of the Kubernetes and Istio resources the policies judge, as the policy engine sees them: plain JSON
 * props, where a value not known yet (a preview) is Pulumi's unknown sentinel. Nothing here is specific to the
 * CanaryRelease component: any program's VirtualServices, DestinationRules, Gateways and workloads qualify.
 */

/** What the engine sends for a value that is not known yet (`pulumi preview` of a computed value). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Props as the policy engine gives them: untyped JSON, read with `at`. */
export type Props = Record<string, unknown>;

/** The value at `path` in a JSON value; undefined where the path does not exist. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
    let v = value;
    for (const k of path) {
        if (typeof v !== "object" || v === null) {
            return undefined;
        }
        v = (v as Record<string | number, unknown>)[k];
    }
    return v;
}

/** A resource as a stack policy sees it. */
export interface StackResource {
    type: string;
    urn: string;
    name: string;
    props: Props;
}

const ISTIO_NETWORKING = /^kubernetes:networking\.istio\.io\/v1(alpha3|beta1)?:/;

/** Istio networking kinds, in any served API version. */
export const isIstio = (kind: "VirtualService" | "DestinationRule" | "Gateway") => (type: string) =>
    ISTIO_NETWORKING.test(type) && type.endsWith(`:${kind}`);
export const isVirtualService = isIstio("VirtualService");
export const isDestinationRule = isIstio("DestinationRule");
export const isGateway = isIstio("Gateway");

export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

/** Workload types and where their pod template is. */
const POD_SPEC_PATHS: Record<string, string[]> = {
    [DEPLOYMENT]: ["spec", "template", "spec"],
    "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
    "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
    "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    "kubernetes:core/v1:Pod": ["spec"],
};

/** A container of a workload. */
export interface Container {
    name: string;
    image?: unknown;
    env?: { name: string; value?: unknown; valueFrom?: unknown }[];
}

/** The containers (init containers included) of a workload's pods; undefined when `type` is not a workload. */
export function podContainers(type: string, props: Props): Container[] | undefined {
    const path = POD_SPEC_PATHS[type];
    if (path === undefined) {
        return undefined;
    }
    const spec = at(props, ...path);
    const list = (v: unknown) => (Array.isArray(v) ? v.filter(isObject) : []) as unknown as Container[];
    return [...list(at(spec, "initContainers")), ...list(at(spec, "containers"))];
}

export function isObject(v: unknown): v is Props {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `namespace/name` of a Kubernetes object, for messages. */
export function objectName(props: Props): string {
    const name = at(props, "metadata", "name");
    return `${namespaceOf(props)}/${typeof name === "string" ? name : "?"}`;
}

/** The namespace of a Kubernetes object ("default" when unset). */
export function namespaceOf(props: Props): string {
    const ns = at(props, "metadata", "namespace");
    return typeof ns === "string" ? ns : "default";
}

/** A destination of a route: a host, optionally a subset, with its weight when set. */
export interface Destination {
    host: string;
    subset?: string;
    weight?: number;
    /** The weight is not known yet (a preview): the route is judged when it is. */
    weightUnknown?: boolean;
}

/** One route of a VirtualService (http, tls or tcp). */
export interface Route {
    /** "http[2]" or the route's name. */
    label: string;
    /** Key that identifies the route across updates: its name, else its position. */
    key: string;
    /** The route only takes requests that match conditions (header, cookie, ...). */
    conditional: boolean;
    destinations: Destination[];
    /** A mirror destination and the percentage mirrored. */
    mirror?: Destination & { percent: number };
}

function destination(d: unknown): Destination | undefined {
    const host = at(d, "destination", "host");
    if (typeof host !== "string") {
        return undefined;
    }
    const subset = at(d, "destination", "subset");
    const weight = at(d, "weight");
    return {
        host,
        ...(typeof subset === "string" ? { subset } : {}),
        ...(typeof weight === "number" ? { weight } : {}),
        ...(weight === UNKNOWN ? { weightUnknown: true } : {}),
    };
}

/** The routes of a VirtualService's spec; parts not known yet (a preview) are left out. */
export function virtualServiceRoutes(props: Props): Route[] {
    const routes: Route[] = [];
    for (const kind of ["http", "tls", "tcp"] as const) {
        const list = at(props, "spec", kind);
        if (!Array.isArray(list)) {
            continue;
        }
        list.forEach((r: unknown, i) => {
            if (!isObject(r)) {
                return;
            }
            const name = typeof r.name === "string" ? r.name : undefined;
            const mirror = destination({ destination: r.mirror });
            const percent = at(r, "mirrorPercentage", "value");
            routes.push({
                label: name !== undefined ? `"${name}"` : `${kind}[${i}]`,
                key: name ?? `${kind}[${i}]`,
                conditional: Array.isArray(r.match) && r.match.length > 0,
                destinations: (Array.isArray(r.route) ? r.route : []).map(destination).filter(isDefined),
                ...(mirror ? { mirror: { ...mirror, percent: typeof percent === "number" ? percent : 100 } } : {}),
            });
        });
    }
    return routes;
}

/**
 * The share of a route's traffic a destination gets: its weight, or all of it when it is the only destination
 * and sets none.
 */
export function shareOf(route: Route, d: Destination): number {
    return d.weight ?? (route.destinations.length === 1 ? 100 : 0);
}

/** A fully qualified service host: short names resolve in `namespace`, as Istio resolves them. */
export function qualifyHost(host: string, namespace: string): string {
    if (host.includes("*")) {
        return host;
    }
    const parts = host.split(".");
    if (parts.length === 1) {
        return `${host}.${namespace}.svc.cluster.local`;
    }
    if (parts.length === 2) {
        return `${host}.svc.cluster.local`;
    }
    return host;
}

/** The namespace of an in-cluster service host (`name.namespace.svc.cluster.local`), else undefined. */
export function hostNamespace(fqdn: string): string | undefined {
    const m = /^[^.]+\.([^.]+)\.svc\.cluster\.local$/.exec(fqdn);
    return m?.[1];
}

/** A subset of a DestinationRule. */
export interface Subset {
    name: string;
    labels: Record<string, string>;
}

/** Selects labels: every label of `selector` is in `labels`. */
export function selects(selector: Record<string, string>, labels: unknown): boolean {
    return isObject(labels) && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The subsets of a DestinationRule. */
export function subsetsOf(props: Props): Subset[] {
    const list = at(props, "spec", "subsets");
    return (Array.isArray(list) ? list : []).filter(isObject).map((s) => ({
        name: String(s.name),
        labels: isObject(s.labels) ? (s.labels as Record<string, string>) : {},
    }));
}

export function isDefined<T>(x: T | undefined): x is T {
    return x !== undefined;
}

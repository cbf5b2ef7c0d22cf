/**
 * Routing policies: the weights of every VirtualService route add up to 100, and every routed subset is defined
 * by a DestinationRule and selects the pods of exactly one Deployment.
 */
import { isVirtualService, objectName, Props, Route, subsetsOf, virtualServiceRoutes } from "./kube";
import { resourcePolicy, ResourceUnderTest, stackPolicy } from "./policy";
import { resolveSubset, routedSubsets } from "./topology";

export interface RouteWeightsConfig {
    /** Every destination of a route with several destinations must set its weight. */
    requireExplicitWeights: boolean;
}

/** The violations of one VirtualService: routes whose weights do not add up to 100. */
export function routeWeightViolations(r: ResourceUnderTest, config: RouteWeightsConfig): string[] {
    if (!isVirtualService(r.type)) {
        return [];
    }
    const out: string[] = [];
    for (const route of virtualServiceRoutes(r.props)) {
        if (route.destinations.some((d) => d.weightUnknown)) {
            continue; // not known yet (a preview): judged when it is
        }
        const weights = route.destinations.map((d) => d.weight);
        const set = weights.filter((w): w is number => w !== undefined);
        const describe = () => route.destinations.map((d) => `${d.subset ?? d.host} ${d.weight ?? "unset"}`).join(", ");
        if (set.length === 0) {
            if (config.requireExplicitWeights && route.destinations.length > 1) {
                out.push(
                    `VirtualService ${objectName(r.props)} route ${route.label} splits traffic without weights (${describe()}); set the weight of every destination`,
                );
            }
            continue;
        }
        const total = set.reduce((a, b) => a + b, 0);
        if (total !== 100 || set.length !== weights.length) {
            out.push(
                `VirtualService ${objectName(r.props)} route ${route.label} sends ${total}% in total (${describe()}); the weights of a route must add up to 100`,
            );
        }
    }
    return out;
}

export const routeWeights = resourcePolicy<RouteWeightsConfig>({
    name: "istio-route-weights",
    description: "The destination weights of every VirtualService route add up to 100.",
    defaults: { requireExplicitWeights: false },
    schema: {
        requireExplicitWeights: {
            type: "boolean",
            description: "Every destination of a route with several destinations must set its weight.",
        },
    },
    check: routeWeightViolations,
});

export interface SubsetsConfig {
    /** A subset must select the pods of exactly one Deployment in the stack (not none, not several). */
    requireSingleDeployment: boolean;
}

const describeRoute = (vs: string, route: Route) => `VirtualService ${vs} route ${route.label}`;

/** Routed subsets that no DestinationRule of the stack defines, or that select no or several Deployments. */
export function subsetViolations(
    resources: Parameters<typeof routedSubsets>[0],
    config: SubsetsConfig,
): { message: string; urn: string }[] {
    const out: { message: string; urn: string }[] = [];
    const seen = new Set<string>();
    for (const routed of routedSubsets(resources)) {
        const where = describeRoute(objectName(routed.virtualService.props), routed.route);
        const key = `${routed.virtualService.urn} ${routed.host} ${routed.subset}`;
        if (seen.has(key)) {
            continue;
        }
        seen.add(key);
        const target = resolveSubset(resources, routed.host, routed.subset);
        const urn = routed.virtualService.urn;
        if (target.definition === undefined) {
            out.push({
                urn,
                message:
                    target.rules.length === 0
                        ? `${where} routes to subset "${routed.subset}" of ${routed.host}, but no DestinationRule in this stack is for that host`
                        : `${where} routes to subset "${routed.subset}" of ${routed.host}, but DestinationRule ${objectName(target.rules[0].props)} defines no such subset (it defines ${describeSubsets(target.rules[0].props)})`,
            });
            continue;
        }
        const labels = Object.entries(target.definition.subset.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
        const rule = objectName(target.definition.rule.props);
        if (config.requireSingleDeployment && target.deployments.length !== 1) {
            out.push({
                urn,
                message:
                    target.deployments.length === 0
                        ? `subset "${routed.subset}" of DestinationRule ${rule} (labels ${labels}) selects no Deployment's pods in this stack, and ${where} routes to it`
                        : `subset "${routed.subset}" of DestinationRule ${rule} (labels ${labels}) selects the pods of ${target.deployments.length} Deployments (${target.deployments.map((d) => objectName(d.props)).join(", ")}); a subset must select exactly one`,
            });
        }
    }
    return out;
}

function describeSubsets(props: Props): string {
    const names = subsetsOf(props).map((s) => `"${s.name}"`);
    return names.length > 0 ? names.join(", ") : "none";
}

export const subsetsDefined = stackPolicy<SubsetsConfig>({
    name: "istio-subsets-defined",
    description:
        "Every subset a VirtualService routes to is defined by a DestinationRule for its host and selects the pods of exactly one Deployment.",
    defaults: { requireSingleDeployment: true },
    schema: {
        requireSingleDeployment: {
            type: "boolean",
            description: "A subset must select the pods of exactly one Deployment in the stack.",
        },
    },
    check: subsetViolations,
});

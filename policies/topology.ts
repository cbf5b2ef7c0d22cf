/**
 * The routing graph of a stack: which subsets its VirtualServices route to, which DestinationRule defines each
 * subset, and which Deployments' pods a subset selects.
 */
import {
    at,
    DEPLOYMENT,
    Destination,
    hostNamespace,
    isDestinationRule,
    isVirtualService,
    namespaceOf,
    qualifyHost,
    Route,
    selects,
    shareOf,
    StackResource,
    Subset,
    subsetsOf,
    virtualServiceRoutes,
} from "./kube";

/** A subset a VirtualService routes (or mirrors) to. */
export interface RoutedSubset {
    virtualService: StackResource;
    route: Route;
    destination: Destination;
    /** Fully qualified host of the destination. */
    host: string;
    subset: string;
    /** Percentage of the route's requests it gets (mirrored ones included). */
    share: number;
    /** Reached by a mirror, not by the route itself. */
    mirror: boolean;
}

/** Every subset the stack's VirtualServices route or mirror to. */
export function routedSubsets(resources: StackResource[]): RoutedSubset[] {
    const out: RoutedSubset[] = [];
    for (const vs of resources.filter((r) => isVirtualService(r.type))) {
        const ns = namespaceOf(vs.props);
        for (const route of virtualServiceRoutes(vs.props)) {
            const add = (d: Destination, share: number, mirror: boolean) => {
                if (d.subset !== undefined) {
                    const host = qualifyHost(d.host, ns);
                    out.push({ virtualService: vs, route, destination: d, host, subset: d.subset, share, mirror });
                }
            };
            route.destinations.forEach((d) => add(d, shareOf(route, d), false));
            if (route.mirror) {
                add(route.mirror, route.mirror.percent, true);
            }
        }
    }
    return out;
}

/** Where a routed subset leads: the DestinationRules for its host, the subset, and the Deployments it selects. */
export interface SubsetTarget {
    /** DestinationRules in the stack whose host is the subset's host. */
    rules: StackResource[];
    /** The rule and subset definition, when one defines it. */
    definition?: { rule: StackResource; subset: Subset };
    /** Deployments in the host's namespace whose pods carry the subset's labels. */
    deployments: StackResource[];
}

export function resolveSubset(resources: StackResource[], host: string, subset: string): SubsetTarget {
    const rules = resources.filter((r) => {
        const ruleHost = at(r.props, "spec", "host");
        return (
            isDestinationRule(r.type) &&
            typeof ruleHost === "string" &&
            qualifyHost(ruleHost, namespaceOf(r.props)) === host
        );
    });
    let definition: SubsetTarget["definition"];
    for (const rule of rules) {
        const s = subsetsOf(rule.props).find((x) => x.name === subset);
        if (s !== undefined && definition === undefined) {
            definition = { rule, subset: s };
        }
    }
    const ns = hostNamespace(host);
    const deployments =
        definition === undefined || ns === undefined
            ? []
            : resources.filter(
                  (r) =>
                      r.type === DEPLOYMENT &&
                      namespaceOf(r.props) === ns &&
                      selects(definition.subset.labels, at(r.props, "spec", "template", "metadata", "labels")),
              );
    return { rules, definition, deployments };
}

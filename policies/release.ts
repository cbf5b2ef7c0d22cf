/**
 * Release policies for the stacks that need them (prod by default): one update raises the canary's weight by at
 * most a step, measured from the stack's last deployment, and the canary carries all of a route only during a
 * release, which then completes (stable takes the version and the route returns to stable).
 */
import { isVirtualService, objectName, Props, shareOf, virtualServiceRoutes } from "./kube";
import { resourcePolicy, ResourceUnderTest } from "./policy";

/** What the release policies read besides the resource: the last deployment and the stack's config. */
export interface ReleaseContext {
    /** Props of the resource `urn` in the stack's last deployment; undefined when it was not deployed. */
    previous(urn: string): Promise<Props | undefined>;
    /** The stack's config, keys with their namespace (`istio-canary:releaseStatus`). */
    config(): Record<string, string>;
}

/** Stack and project of a resource, from its URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function parseUrn(urn: string): { stack: string; project: string } {
    const m = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn);
    if (m === null) {
        throw new Error(`not a resource URN: ${urn}`);
    }
    return { stack: m[1], project: m[2] };
}

/** The canary's share of each route that splits traffic between the canary subset and others, by route key. */
export function canaryWeights(props: Props, canarySubset: string): Map<string, { label: string; weight?: number }> {
    const out = new Map<string, { label: string; weight?: number }>();
    for (const route of virtualServiceRoutes(props)) {
        const canary = route.destinations.find((d) => d.subset === canarySubset);
        if (canary !== undefined && route.destinations.length > 1 && !route.conditional) {
            out.set(route.key, {
                label: route.label,
                ...(canary.weightUnknown ? {} : { weight: shareOf(route, canary) }),
            });
        }
    }
    return out;
}

export interface WeightStepConfig {
    /** Stacks the policy applies to. */
    stacks: string[];
    /** Most points one update may raise the canary's weight by. */
    maxStep: number;
    /** Subset name of the canary track. */
    canarySubset: string;
}

/** Routes whose canary weight rises by more than the step since the stack's last deployment. */
export async function weightStepViolations(
    r: ResourceUnderTest,
    config: WeightStepConfig,
    ctx: ReleaseContext,
): Promise<string[]> {
    const { stack } = parseUrn(r.urn);
    if (!isVirtualService(r.type) || !config.stacks.includes(stack)) {
        return [];
    }
    const now = [...canaryWeights(r.props, config.canarySubset)].filter(([, w]) => w.weight !== undefined);
    if (now.length === 0) {
        return [];
    }
    let before: Map<string, { weight?: number }>;
    try {
        before = canaryWeights((await ctx.previous(r.urn)) ?? {}, config.canarySubset);
    } catch (e) {
        return [`cannot check the canary's step on stack ${stack}: ${(e as Error).message}`];
    }
    const out: string[] = [];
    for (const [key, { label, weight }] of now) {
        const from = before.get(key)?.weight ?? 0;
        if (weight! - from > config.maxStep) {
            out.push(
                `VirtualService ${objectName(r.props)} route ${label} would move the canary from ${from}% to ${weight}% in one update; ` +
                    `on stack ${stack} one update may raise the canary's weight by at most ${config.maxStep} points (from the stack's last deployment)`,
            );
        }
    }
    return out;
}

export interface FullCanaryConfig {
    /** Stacks the policy applies to. */
    stacks: string[];
    /** Subset name of the canary track. */
    canarySubset: string;
    /** Config key (in the project's namespace) where the release bot records its release's status. */
    releaseStatusKey: string;
}

/** Routes that send everything to the canary while no release is in progress. */
export function fullCanaryViolations(r: ResourceUnderTest, config: FullCanaryConfig, ctx: ReleaseContext): string[] {
    const { stack, project } = parseUrn(r.urn);
    if (!isVirtualService(r.type) || !config.stacks.includes(stack)) {
        return [];
    }
    const key = `${project}:${config.releaseStatusKey}`;
    const status = ctx.config()[key];
    if (status === "in-progress") {
        return [];
    }
    return [...canaryWeights(r.props, config.canarySubset).values()]
        .filter((w) => w.weight === 100)
        .map(
            ({ label }) =>
                `VirtualService ${objectName(r.props)} route ${label} sends 100% to the canary outside a release: on stack ${stack} ` +
                `the canary carries all traffic only in a release the release bot completes (${key} is ${status === undefined ? "unset" : `"${status}"`}, not "in-progress")`,
        );
}

const STACKS = { type: "array", items: { type: "string" }, description: "Stacks the policy applies to." } as const;
const CANARY_SUBSET = { type: "string", description: "Subset name of the canary track." } as const;

/** The release policies, reading the last deployment and the stack config through `ctx`. */
export function releasePolicies(ctx: ReleaseContext) {
    return [
        resourcePolicy<WeightStepConfig>({
            name: "canary-weight-step",
            description:
                "On the configured stacks (prod), one update raises the canary's weight by at most a step, measured from the stack's last deployment.",
            defaults: { stacks: ["prod"], maxStep: 25, canarySubset: "canary" },
            schema: {
                stacks: STACKS,
                maxStep: {
                    type: "integer",
                    minimum: 1,
                    maximum: 100,
                    description: "Most points one update may raise it by.",
                },
                canarySubset: CANARY_SUBSET,
            },
            check: (r, config) => weightStepViolations(r, config, ctx),
        }),
        resourcePolicy<FullCanaryConfig>({
            name: "canary-full-weight",
            description:
                "On the configured stacks (prod), the canary carries all of a route only during a release, which then completes.",
            defaults: { stacks: ["prod"], canarySubset: "canary", releaseStatusKey: "releaseStatus" },
            schema: {
                stacks: STACKS,
                canarySubset: CANARY_SUBSET,
                releaseStatusKey: {
                    type: "string",
                    description: "Config key (project namespace) where the release bot records the release's status.",
                },
            },
            check: (r, config) => fullCanaryViolations(r, config, ctx),
        }),
    ];
}

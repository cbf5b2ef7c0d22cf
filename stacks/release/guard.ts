/**
 * What the bot checks before it applies anything: that a previewed update changes only what its step may
 * change, that the routing objects did not drift (a `kubectl edit`), and that the deployed stack is still the
 * one the bot deployed (no `pulumi up` by someone else in between).
 */
import { PROTOCOL_KEYS, STATE_KEYS } from "../../config/release-state";
import { ResourceChange } from "../automation/driver";
import { shown } from "./wording";

/** Resource types of the objects that route traffic. */
export const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService";
export const DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
/** The Gateway API's routes (`routingApi: gateway-api`): what a shift changes in that mode. */
export const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
export const GRPC_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:GRPCRoute";
/** The routes whose weights a step changes, in either routing mode. */
export const ROUTE_TYPES = [VIRTUAL_SERVICE, HTTP_ROUTE, GRPC_ROUTE];
/** Every type that decides where requests go: what the drift check looks at. */
export const ROUTING_TYPES = [...ROUTE_TYPES, DESTINATION_RULE];

/** What kind of update is previewed: each may change a different set of resources. */
export type StepKind = "stage" | "start" | "complete";

/** The resource's name: the last part of its URN. */
export const resourceName = (urn: string) => urn.split("::").at(-1) ?? urn;

function describe(c: ResourceChange): string {
    return `${c.op} ${c.type.split(":").at(-1)} ${resourceName(c.urn)}${c.paths.length > 0 ? ` (${c.paths.join(", ")})` : ""}`;
}

/** A preview showed changes the step may not make: nothing was applied. */
export class PlanGuardError extends Error {
    constructor(readonly violations: string[]) {
        super(`the preview shows changes this step may not make: ${violations.join("; ")}`);
        this.name = "PlanGuardError";
    }
}

/** The bounds of an HPA: what a step may change of one (the canary's follow its weight). */
const HPA_BOUNDS = ["spec", "spec.minReplicas", "spec.maxReplicas"];

/**
 * Changes a step may not make, described; empty when the plan is fine. A stage may update only the routes (the
 * VirtualService, or the Gateway API's routes), a Deployment's replica count (canary scaling) and an HPA's bounds
 * (autoscaling). The start and the completion may update the routes, the Deployments and the HPAs' bounds; the start may also create
 * the canary's Deployment and HPA (with autoscaling the canary track exists only during a release). Nothing else
 * may be created, and nothing replaced or deleted, by any of them.
 */
export function planViolations(kind: StepKind, changes: ResourceChange[]): string[] {
    return changes
        .filter((c) => {
            if (c.op === "create" && kind === "start") {
                const name = resourceName(c.urn);
                return !(
                    (c.type === DEPLOYMENT && name.endsWith("-canary")) ||
                    (c.type === HPA && name.endsWith("-canary-hpa"))
                );
            }
            if (c.op !== "update") {
                return true;
            }
            if (ROUTE_TYPES.includes(c.type)) {
                return false;
            }
            if (c.type === HPA) {
                return !c.paths.every((p) => HPA_BOUNDS.includes(p));
            }
            if (c.type !== DEPLOYMENT) {
                return true;
            }
            return kind === "stage" && !c.paths.every((p) => p === "spec.replicas" || p === "spec");
        })
        .map(describe);
}

/** The message of a drift: what changed outside Pulumi, and how to go on. */
export function driftMessage(drifted: ResourceChange[], stack: string): string {
    return (
        `the live routing objects differ from the stack's state: ${drifted.map(describe).join("; ")}. ` +
        `Someone changed them outside Pulumi (kubectl edit?); the bot stops rather than overwrite or ignore it. ` +
        `Inspect it, then \`pulumi refresh --stack ${stack}\` (keep the change) or \`pulumi up --refresh --stack ${stack}\` ` +
        "(undo it), and --resume"
    );
}

/** Protocol keys a deployed config must keep between the bot's updates (the lease's expiry may differ). */
const WATCHED_KEYS = PROTOCOL_KEYS.filter((k) => k !== STATE_KEYS.leaseExpires);

/**
 * The protocol keys whose deployed value is not what the bot last deployed (`expected`), described; empty when
 * the deployed stack is the bot's.
 */
export function stackChanges(
    expected: Record<string, string | undefined>,
    deployed: Record<string, string | undefined>,
): string[] {
    return WATCHED_KEYS.filter((k) => (expected[k] ?? "") !== (deployed[k] ?? "")).map(
        (k) => `${k}: deployed ${shown(deployed[k])}, the bot deployed ${shown(expected[k])}`,
    );
}

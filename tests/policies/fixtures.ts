/**
 * Resources for the policy tests, made by the real CanaryRelease under mocks (so the policies judge what the
 * component registers), and a runner that calls a policy as the policy engine does.
 */
import {
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { CanaryRelease } from "../../components/canary-release";
import { CanaryReleaseArgs } from "../../components/canary-release-args";
import { releaseArgs } from "../fixtures/release";
import { Props, StackResource } from "../../policies/kube";
import { withMocks } from "../harness";

export const VS = "kubernetes:networking.istio.io/v1:VirtualService";
export const DR = "kubernetes:networking.istio.io/v1:DestinationRule";
export const GATEWAY = "kubernetes:networking.istio.io/v1:Gateway";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

export const urnOf = (type: string, name: string, stack = "prod") =>
    `urn:pulumi:${stack}::istio-canary::${type}::${name}`;

/** The custom resources CanaryRelease registers for `args` (over a valid base), as a stack policy sees them. */
export async function release(args: Partial<CanaryReleaseArgs> = {}, stack = "prod"): Promise<StackResource[]> {
    const mocks = await withMocks(() => {
        new CanaryRelease("shop", releaseArgs({ tls: { secretName: "shop-tls" }, ...args }));
    });
    return mocks
        .custom()
        .map((r) => ({ type: r.type, name: r.name, urn: urnOf(r.type, r.name, stack), props: r.inputs as Props }));
}

/** The one resource of `type` (and name). */
export function one(resources: StackResource[], type: string, name?: string): StackResource {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
    }
    return found[0];
}

/** A deep copy of `r` with `change` applied to its props (untyped JSON). */
export function edit(r: StackResource, change: (props: any) => void): StackResource {
    const props = JSON.parse(JSON.stringify(r.props)) as Props;
    change(props);
    return { ...r, props };
}

/** Runs a resource policy on `r` with the pack config `config`; returns the violations' messages. */
export async function runResource(
    policy: ResourceValidationPolicy,
    r: StackResource,
    config: object = {},
): Promise<string[]> {
    const violations: string[] = [];
    const args = {
        type: r.type,
        urn: r.urn,
        name: r.name,
        props: r.props,
        getConfig: () => config,
    } as unknown as ResourceValidationArgs;
    const validations = [policy.validateResource ?? []].flat();
    for (const v of validations) {
        await v(args, (message) => violations.push(message));
    }
    return violations;
}

/** Runs a stack policy over `resources` with the pack config `config`; returns the violations' messages. */
export async function runStack(
    policy: StackValidationPolicy,
    resources: StackResource[],
    config: object = {},
): Promise<string[]> {
    const violations: string[] = [];
    const args = { resources, getConfig: () => config } as unknown as StackValidationArgs;
    await policy.validateStack(args, (message) => violations.push(message));
    return violations;
}

/** What every policy of the pack shares: its configuration with defaults, and violations as plain strings. */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { Props, StackResource } from "./kube";

/** A policy's configuration: the defaults, overridden by the pack's config file (`--policy-pack-config`). */
export function withDefaults<C extends object>(defaults: C, given: Partial<C>): C {
    const out = { ...defaults };
    for (const key of Object.keys(given) as (keyof C)[]) {
        if (given[key] !== undefined) {
            out[key] = given[key];
        }
    }
    return out;
}

/** The JSON schema of a policy's configuration, each property with its default. */
function configSchema<C extends object>(defaults: C, schema: Record<keyof C, PolicyConfigJSONSchema>) {
    const properties: Record<string, PolicyConfigJSONSchema> = {};
    for (const [k, s] of Object.entries<PolicyConfigJSONSchema>(schema)) {
        properties[k] = { ...s, default: defaults[k as keyof C] as PolicyConfigJSONSchema["default"] };
    }
    return { properties };
}

/** A resource to judge: its type token, URN and props. */
export interface ResourceUnderTest {
    type: string;
    urn: string;
    props: Props;
}

/** A resource policy from a pure check that returns its violations. */
export function resourcePolicy<C extends object>(p: {
    name: string;
    description: string;
    defaults: C;
    schema: Record<keyof C, PolicyConfigJSONSchema>;
    check: (r: ResourceUnderTest, config: C) => string[] | Promise<string[]>;
}): ResourceValidationPolicy {
    return {
        name: p.name,
        description: p.description,
        enforcementLevel: "mandatory",
        configSchema: configSchema(p.defaults, p.schema),
        validateResource: async (args, report) => {
            const config = withDefaults(p.defaults, args.getConfig<Partial<C>>());
            for (const v of await p.check({ type: args.type, urn: args.urn, props: args.props }, config)) {
                report(v);
            }
        },
    };
}

/** A stack policy from a pure check over every resource of the stack. */
export function stackPolicy<C extends object>(p: {
    name: string;
    description: string;
    defaults: C;
    schema: Record<keyof C, PolicyConfigJSONSchema>;
    check: (resources: StackResource[], config: C) => { message: string; urn?: string }[];
}): StackValidationPolicy {
    return {
        name: p.name,
        description: p.description,
        enforcementLevel: "mandatory",
        configSchema: configSchema(p.defaults, p.schema),
        validateStack: (args, report) => {
            const config = withDefaults(p.defaults, args.getConfig<Partial<C>>());
            for (const v of p.check(args.resources, config)) {
                report(v.message, v.urn);
            }
        },
    };
}

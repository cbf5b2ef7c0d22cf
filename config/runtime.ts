/** The one place that reaches into the Pulumi runtime for this program's config. */
import * as pulumi from "@pulumi/pulumi";
import { ownKeys, qualify } from "./namespace";

/** Our keys and values (without the namespace) from the running program's config. */
export function runtimeConfig(): Record<string, string> {
    return ownKeys(pulumi.runtime.allConfig());
}

/**
 * Keys of our namespace (without the namespace) that were set with `--secret`. Uses the SDK's internal
 * `isConfigSecret` (present in @pulumi/pulumi 3.x, pinned here); without it, every key counts as secret so
 * nothing is wrongly rejected.
 */
export function configSecretKeys(): Set<string> {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return new Set(
        Object.keys(runtimeConfig()).filter(
            (k) => runtime.isConfigSecret === undefined || runtime.isConfigSecret(qualify(k)),
        ),
    );
}

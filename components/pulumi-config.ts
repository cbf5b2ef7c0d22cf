/** The one place that reaches into the Pulumi runtime for which config keys are secrets. */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./config";

/**
 * Keys of our namespace (without the namespace) that were set with `--secret`. Uses the SDK's internal
 * `isConfigSecret` (present in @pulumi/pulumi 3.x, pinned here); without it, every key counts as secret so
 * nothing is wrongly rejected.
 */
export function configSecretKeys(): Set<string> {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    const prefix = `${CONFIG_NAMESPACE}:`;
    const keys = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(prefix));
    return new Set(
        keys
            .filter((k) => runtime.isConfigSecret === undefined || runtime.isConfigSecret(k))
            .map((k) => k.slice(prefix.length)),
    );
}

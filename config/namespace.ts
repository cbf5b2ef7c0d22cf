/** The stack-config namespace of this program's keys, and the one place that adds or strips it. */

/** The config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "istio-canary";

const PREFIX = `${CONFIG_NAMESPACE}:`;

/** `key` -> `istio-canary:key`. */
export function qualify(key: string): string {
    return PREFIX + key;
}

/** Our keys without the namespace; keys of other namespaces (kubernetes:, pulumi:) are not ours. */
export function ownKeys<T>(all: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(all)) {
        if (k.startsWith(PREFIX)) {
            out[k.slice(PREFIX.length)] = v;
        }
    }
    return out;
}

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
    // Object.fromEntries defines each key (a key named "__proto__" stays a key, to be reported as unknown).
    return Object.fromEntries(
        Object.entries(all)
            .filter(([k]) => k.startsWith(PREFIX))
            .map(([k, v]) => [k.slice(PREFIX.length), v]),
    );
}

/** Deterministic helpers for Helm values. */

/** A JSON-like Helm values tree. */
export type Values = { [key: string]: unknown };

function isPlainObject(value: unknown): value is Values {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Deep-merges `overrides` over `base`: objects merge key by key, anything else (arrays included) replaces.
 * Neither argument is modified.
 */
export function mergeValues(base: Values, overrides: Values | undefined): Values {
    const out: Values = { ...base };
    for (const [key, value] of Object.entries(overrides ?? {})) {
        const current = out[key];
        out[key] = isPlainObject(current) && isPlainObject(value) ? mergeValues(current, value) : value;
    }
    return out;
}

/** `o` without its undefined fields (so spreading it over defaults keeps them). */
export function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

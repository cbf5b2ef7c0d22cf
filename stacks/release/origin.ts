/**
 * Where a release starts from: the stack's last deployed config, not whatever the checkout's stack file says.
 *
 * In CI every run is a fresh checkout, and the committed `Pulumi.<stack>.yaml` does not have what the last run
 * wrote (the release state, the stable version a completion moved to). The backend has it: the config of the
 * last update. The protocol keys are taken from there; a checkout that disagrees on a decisive key (stable
 * image or version, release status, version or image) is refused, changing nothing, unless the caller picks a
 * side: "deployed" (take the deployed values) or "checkout" (keep the checkout's).
 */
import { ConfigChanges, DECISIVE_KEYS, PROTOCOL_KEYS, STATE_KEYS } from "../../config/release-state";
import { PreflightError } from "./result";
import { shown } from "./wording";

/** Which side wins when the checkout and the deployed stack disagree. */
export const CONFIG_SOURCES = ["deployed", "checkout"] as const;
export type ConfigSource = (typeof CONFIG_SOURCES)[number];

/** Defaults of the protocol keys, so an unset key and its default compare equal. */
const DEFAULTS: Record<string, string> = { [STATE_KEYS.status]: "idle", canaryWeight: "0" };
const norm = (config: Record<string, string | undefined>, k: string) => config[k] ?? DEFAULTS[k];

/** The lease keys are the lease's business (lease.ts), not the origin's. */
const ADOPTED_KEYS = PROTOCOL_KEYS.filter((k) => k !== STATE_KEYS.owner && k !== STATE_KEYS.leaseExpires);

/**
 * The config changes that make the checkout start from the deployed release state. Throws a
 * {@link PreflightError} (nothing changed) when they disagree on a decisive key and no side was picked.
 */
export function startingPoint(
    stack: string,
    local: Record<string, string>,
    deployed: Record<string, string> | undefined,
    side?: ConfigSource,
): ConfigChanges {
    if (deployed === undefined || side === "checkout") {
        return {};
    }
    const decisive = DECISIVE_KEYS.filter((k) => norm(local, k) !== norm(deployed, k));
    if (decisive.length > 0 && side === undefined) {
        throw new PreflightError(
            `the checkout's config of stack ${stack} disagrees with what is deployed: ` +
                decisive.map((k) => `${k} is ${shown(local[k])} here, ${shown(deployed[k])} deployed`).join("; ") +
                ". Nothing was changed. Start from the deployed release state with --config-from deployed (a " +
                "fresh CI checkout), or keep this checkout's with --config-from checkout (it holds a write that " +
                "was never deployed, e.g. a bot killed between a config write and its update)",
        );
    }
    return Object.fromEntries(
        ADOPTED_KEYS.filter((k) => norm(local, k) !== norm(deployed, k)).map((k) => [k, deployed[k]]),
    );
}

/** `values` with `changes` applied (undefined removes a key). */
export function withChanges(values: Record<string, string>, changes: ConfigChanges): Record<string, string> {
    const out = { ...values };
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) {
            delete out[k];
        } else {
            out[k] = v;
        }
    }
    return out;
}

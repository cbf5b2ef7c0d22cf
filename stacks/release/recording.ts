/**
 * A recording update: config changes that move no resource (a decision at a gate, a promotion approval), written
 * from the deployed release state and applied by an update, so that they survive a fresh checkout and show in
 * `pulumi stack history`. The preview must show no resource change, or nothing is applied and the config is put
 * back.
 */
import { ConfigChanges } from "../../config/release-state";
import { StackDriver } from "../automation/driver";
import { restoreIfOurs } from "./lease";
import { ConfigSource, startingPoint, withChanges } from "./origin";
import { PreflightError } from "./result";

export interface RecordingOptions {
    /** The changes to record, from the stack's config as the deployed release state makes it; may throw. */
    changes: (values: Record<string, string>) => ConfigChanges;
    /** The update's message in `pulumi stack history`. */
    message: string;
    /** When the checkout and the deployed stack disagree: which side wins. */
    configFrom?: ConfigSource;
    engineOutput?: (line: string) => void;
}

/** Records config changes with an update that changes no resource. Throws {@link PreflightError} when it would. */
export async function recordInStack(stack: StackDriver, o: RecordingOptions): Promise<ConfigChanges> {
    const { values: local } = await stack.getConfig();
    const adopted = startingPoint(stack.name, local, await stack.deployedConfig(), o.configFrom);
    const values = withChanges(local, adopted);
    const changes = { ...adopted, ...o.changes(values) };
    const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, local[k]]));
    await stack.setConfig(changes);
    try {
        const preview = await stack.preview({ savePlan: true, onOutput: o.engineOutput });
        if (preview.changes.length > 0) {
            throw new PreflightError(
                `recording "${o.message}" would also change resources (${preview.changes.map((c) => `${c.op} ${c.urn.split("::").at(-1)}`).join(", ")}): ` +
                    `the stack's config is not what is deployed; nothing was applied. Deploy it first (pulumi up)`,
            );
        }
        await stack.up({ plan: preview.plan, message: o.message, onOutput: o.engineOutput });
    } catch (e) {
        await restoreIfOurs(stack, before, changes);
        throw e;
    }
    return changes;
}

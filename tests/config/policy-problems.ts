import * as assert from "assert";
import { parsePolicy } from "../../config/policy";
import { ConfigError } from "../../config/reader";

/** What the policy's duration keys accept, as messages say it. */
export const DURATION =
    'a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first)';

/** The problems parsePolicy reports for `raw`; with onlyGiven, as for the bot's flags alone. */
export function policyConfigProblems(raw: Record<string, string>, onlyGiven = false): string[] {
    try {
        parsePolicy(raw, new Set(), { onlyGiven });
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems;
    }
}

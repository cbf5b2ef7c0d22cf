/**
 * The release policy's say for people: manual gates in a release, and what promotion asks before a version may
 * reach this stack (a soak time on the source stack, an approval): their keys, declared here once and read into
 * the release policy's {@link GatePolicy} fields (config/policy-type.ts).
 */
import { promDurationMs, PROM_DURATION, PROM_DURATION_ACCEPTS } from "./policy-rules";
import { GatePolicy } from "./policy-type";
import { Reader } from "./reader";
import { COMPLETE_GATE, Gate } from "./release-state";

const GATES_ACCEPTS =
    'a comma-separated list of step weights and/or "complete", such as "50,complete" (each once, no empty item)';
const SOAK_ACCEPTS = `${PROM_DURATION_ACCEPTS}, from 1s to 365d`;

/** Parses gates ("50, complete" -> ["50", "complete"]); undefined when malformed (an empty item included). */
export function parseGates(text: string): Gate[] | undefined {
    const gates = text.split(",").map((g) => g.trim());
    const ok = gates.every((g) => g === COMPLETE_GATE || /^([1-9]\d?|100)$/.test(g));
    return ok && new Set(gates).size === gates.length ? gates : undefined;
}

/** Reads the gate and promotion keys (group "Gates and promotion"). */
export function readGates(r: Reader): GatePolicy {
    r.group = "Gates and promotion";
    const text = r.string("releaseGates", {
        doc:
            "Manual gates: before these steps (weights of releaseSteps) and/or before completion (complete), the " +
            "bot records awaiting-approval and stops (exit 10) until `npm run release -- --approve`.",
        accepts: GATES_ACCEPTS,
        pattern: /[\s\S]*/,
        field: "policy.gates",
        flag: { name: "gates", arg: "<list>" },
    });
    const gates = text === undefined ? [] : parseGates(text);
    if (gates === undefined) {
        r.bad("releaseGates", GATES_ACCEPTS, text!);
    }
    return {
        gates: gates ?? [],
        promotionSoakTime: r.string("promotionSoakTime", {
            doc:
                "Promotion to this stack waits until the version has run as stable on the source stack this long " +
                "(from its completion in the source's stack history).",
            accepts: SOAK_ACCEPTS,
            pattern: PROM_DURATION,
            valid: (v) => {
                const ms = promDurationMs(v) ?? 0;
                return ms >= 1000 && ms <= 365 * 86_400_000;
            },
            field: "policy.promotionSoakTime",
        }),
        promotionRequireApproval: r.bool("promotionRequireApproval", {
            doc: "Promotion to this stack needs an approval of each version and image, used once (`npm run promote -- --approve`).",
            def: false,
            field: "policy.promotionRequireApproval",
        }),
    };
}

/**
 * Policy packs on an Automation API update: their paths (relative ones from the project directory) and their
 * mandatory violations, which become the error of a failed update so that callers report the policy's message.
 */
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { OperationOptions } from "./driver";

/** A preview or update stopped by mandatory policy violations; the message lists them, one per line. */
export class PolicyViolationError extends Error {
    constructor(readonly violations: string[]) {
        super(violations.join("\n"));
        this.name = "PolicyViolationError";
    }
}

/** Collects the policy events of one preview or update. */
export class PolicyWatch {
    private readonly mandatory: string[] = [];

    /** The Automation API options that run the packs and watch their events (none without packs). */
    options(
        opts: OperationOptions,
        projectDir: string,
    ): { policyPacks?: string[]; policyPackConfigs?: string[]; onEvent?: (e: EngineEvent) => void } {
        if (!opts.policyPacks?.length) {
            return {};
        }
        const abs = (p: string) => path.resolve(projectDir, p);
        return {
            policyPacks: opts.policyPacks.map(abs),
            ...(opts.policyPackConfigs?.length ? { policyPackConfigs: opts.policyPackConfigs.map(abs) } : {}),
            onEvent: (e) => {
                const p = e.policyEvent;
                if (p?.enforcementLevel === "mandatory") {
                    this.mandatory.push(
                        `policy ${p.policyName} (${p.policyPackName}): ${p.message.replace(/\s+/g, " ").trim()}`,
                    );
                }
            },
        };
    }

    /** The error to throw for a failed update: the violations when there were any, else `e` itself. */
    error(e: unknown): unknown {
        return this.mandatory.length > 0 ? new PolicyViolationError([...new Set(this.mandatory)]) : e;
    }
}

/**
 * What the release policies read outside the resource under validation: the stack's last deployment (through
 * `pulumi stack export`, once per stack and pack process) and the stack's config (which the language host passes
 * to the pack in PULUMI_CONFIG, as for a program).
 */
import { execFile } from "child_process";
import * as os from "os";
import { Props } from "./kube";
import { parseUrn, ReleaseContext } from "./release";

/** Runs a command, resolving to its stdout. */
export type Run = (cmd: string, args: string[]) => Promise<string>;

const run: Run = (cmd, args) =>
    new Promise((resolve, reject) => {
        // Outside any project directory: the stack is named in full, and no Pulumi.yaml may select another.
        execFile(cmd, args, { cwd: os.tmpdir(), maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
            if (error) {
                const line = stderr.split("\n").find((l) => l.trim() !== "") ?? error.message;
                reject(new Error(`pulumi ${args.slice(0, 2).join(" ")} failed: ${line.trim()}`));
            } else {
                resolve(stdout);
            }
        });
    });

interface Checkpoint {
    deployment?: { resources?: { urn: string; inputs?: Props; outputs?: Props }[] };
}

/**
 * Reads a resource's props in its stack's last deployment: `pulumi stack export` of the stack the URN names (in
 * the organization the engine told the language host, "organization" on a self-managed backend).
 */
export function lastDeployment(
    runCommand: Run = run,
    env: NodeJS.ProcessEnv = process.env,
): ReleaseContext["previous"] {
    const exports = new Map<string, Promise<Map<string, Props>>>();
    return async (urn) => {
        const { stack, project } = parseUrn(urn);
        const org = env.PULUMI_NODEJS_ORGANIZATION ?? env.PULUMI_ORGANIZATION ?? "organization";
        const name = `${org}/${project}/${stack}`;
        if (!exports.has(name)) {
            exports.set(
                name,
                runCommand(env.PULUMI_POLICY_CLI ?? "pulumi", ["stack", "export", "--stack", name]).then((text) => {
                    const checkpoint = JSON.parse(text) as Checkpoint;
                    return new Map(
                        (checkpoint.deployment?.resources ?? []).map((r) => [r.urn, r.outputs ?? r.inputs ?? {}]),
                    );
                }),
            );
        }
        return (await exports.get(name)!).get(urn);
    };
}

/** The stack's config as the language host passes it to the pack (PULUMI_CONFIG, a JSON object). */
export function stackConfig(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    try {
        const parsed: unknown = JSON.parse(env.PULUMI_CONFIG ?? "{}");
        return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
    } catch {
        return {};
    }
}

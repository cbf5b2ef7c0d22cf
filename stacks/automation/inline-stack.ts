/**
 * The release bot's stack with the program inline: the same project, stack, config file and backend as
 * {@link AutomationStack}, but `pulumi up` runs stacks/program.ts's `program()` in this process (an Automation
 * API inline program) instead of starting Node.js and compiling the program for every update. A shift here is
 * the engine's own cost plus the config write (bench/shift.ts).
 */
import * as automation from "@pulumi/pulumi/automation";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as path from "path";
import { program } from "../program";
import { AutomationStack, pulumiCommand, scratchWorkspace, selectStack } from "./local-stack";

/** Opens an existing stack of the project in `workDir` with the program inline. */
export async function selectInlineStack(stackName: string, workDir: string): Promise<Stack> {
    const project = yaml.load(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8")) as { name: string };
    try {
        return await LocalWorkspace.selectStack(
            { stackName, projectName: project.name, program: async () => Promise.resolve(program()) },
            { workDir, pulumiCommand: await pulumiCommand() },
        );
    } catch (e) {
        if (e instanceof automation.StackNotFoundError) {
            await selectStack(stackName, workDir); // throws our StackNotFoundError, with its advice
        }
        throw e;
    }
}

/** A {@link StackDriver} whose updates run the program in this process. */
export class InlineStack extends AutomationStack {
    /** Opens `stackName` in `workDir`; with `dryRun`, on a scratch copy of its config that previews only. */
    static override async open(stackName: string, workDir: string, dryRun = false): Promise<InlineStack> {
        if (!dryRun) {
            return new InlineStack(await selectInlineStack(stackName, workDir), false, workDir);
        }
        await selectInlineStack(stackName, workDir); // fail early, and clearly, when it does not exist
        const scratch = scratchWorkspace(workDir, stackName);
        return new InlineStack(await selectInlineStack(stackName, scratch), true, workDir, scratch);
    }
}

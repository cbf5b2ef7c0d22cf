/**
 * `npm run promote -- --from staging --to prod`: promotes what the source stack completed to the target stack.
 * Exit codes: those of the release bot (EXIT_CODE_TABLE in stacks/release/result.ts); 2 is also a refusal.
 */
import * as path from "path";
import { KubeApi } from "../automation/kube-api";
import { KubeWorkloads } from "../automation/kube-workloads";
import { clusterApi, KubeLeases } from "../release/kube-lease";
import { StackNotFoundError } from "../automation/driver";
import { AutomationStack, readStackOutputs, requirePulumiCli } from "../automation/local-stack";
import { IMAGE_ACCEPTS, IMAGE_REF } from "../../components/validation";
import { approvedImage, approvePromotion } from "../promote/promotion-gates";
import { promote, promotionState } from "../promote/promote";
import { promoteWaves } from "../promote/waves";
import { writeWavesReport } from "../promote/waves-report";
import { systemClock } from "../release/clock";
import { latestReport } from "../release/report";
import { prometheusCredentialsFromEnv } from "../release/prometheus";
import { EXIT_CODES, exitCode, exitCodeHelp, PreflightError } from "../release/result";
import {
    configFrom,
    configFromFlag,
    expectedError,
    FlagSpec,
    helpText,
    interruptSignal,
    LOCAL_PATH,
    parseArgs,
    printEngineLine,
    reportOutcome,
    runMain,
    STACK_NAME,
    UsageError,
    VERSION_LABEL,
} from "./args";

/** One stack name, or several separated by commas, each named once. */
export const STACK_LIST = {
    accepts: `${STACK_NAME.accepts}, or several separated by commas, each named once (a wave per stack)`,
    valid: (v: string) => {
        const list = v.split(",");
        return list.every((s) => STACK_NAME.valid(s)) && new Set(list).size === list.length;
    },
};

export const PROMOTE_FLAGS: FlagSpec[] = [
    {
        name: "from",
        kind: "value",
        arg: "<stack>",
        help: "Source stack, e.g. staging (required).",
        grammar: STACK_NAME,
    },
    {
        name: "to",
        kind: "value",
        arg: "<stack>[,<stack>...]",
        help:
            "Target stack, e.g. prod (required); a comma-separated list promotes in waves, one stack after the " +
            "other, each from the one before (prod-east,prod-west).",
        grammar: STACK_LIST,
    },
    {
        name: "version",
        kind: "value",
        arg: "<label>",
        help: "Version to promote. Defaults to what the source runs.",
        grammar: VERSION_LABEL,
    },
    {
        name: "work-dir",
        kind: "value",
        arg: "<dir>",
        help: "Pulumi project directory. Defaults to the current directory.",
        grammar: LOCAL_PATH,
    },
    {
        name: "approve",
        kind: "switch",
        help:
            "Record on --to that --version, with the image --from runs as it (or --image), may be promoted there once " +
            "(promotionRequireApproval); nothing is released.",
    },
    {
        name: "image",
        kind: "value",
        arg: "<ref>",
        help:
            "With --approve: the image approved. Without --from it is taken as given; with --from it must be what " +
            "--from runs (the same digest when pinned).",
        grammar: { accepts: IMAGE_ACCEPTS, valid: (v) => IMAGE_REF.test(v) },
    },
    {
        name: "by",
        kind: "value",
        arg: "<name>",
        help: "With --approve: who approves. Defaults to $GITHUB_ACTOR, else $USER.",
    },
    { name: "dry-run", kind: "switch", help: "Decide and preview the target's release; change nothing." },
    configFromFlag("When the target's checkout config disagrees with its deployed stack: which side wins."),
    {
        name: "report-dir",
        kind: "value",
        arg: "<dir>",
        help: "Where the target's release report goes. Defaults to reports.",
        grammar: LOCAL_PATH,
    },
    { name: "quiet", kind: "switch", help: "Do not stream the engine output of each update." },
    { name: "help", kind: "switch", help: "Show this help." },
];

const INTRO = `Promotes a version from one stack (environment) to the next. It reads the source stack's outputs and refuses,
changing nothing, unless the source completed a release of that version (release.status "completed"). Then it
runs the release bot on the target with the target's own release policy (from its stack config), on the same
image the source runs (pinned by digest when the source pinned it). Promoting a version the target already runs
is a no-op. Both stacks must be on the current backend (PULUMI_BACKEND_URL or pulumi login).
The target's promotion gates come first: promotionSoakTime (the version must have run as stable on the source
that long since its release completed there; the refusal says how long is left) and promotionRequireApproval
(each version approved on the target first: --approve --from <stack> --to <stack> --version <label>). An approval is
for one version and one image (read from --from, printed, and recorded with it; its digest when pinned): a rebuilt
image of the same version is refused. It is used once: the promotion that uses it marks it used in the update that
starts the release, and a later promotion of the same version needs a new one. The target's release report carries
the audit trail: the source release and its report, the soak, the approval.
Waves (--to prod-east,prod-west): one target after the other, each promoted from the one before it with its own
gates and release policy, on the cluster its stack's Kubernetes provider names (kubernetes:kubeconfig,
kubernetes:context); a wave after the first waits out its promotionSoakTime. A wave that does not complete stops
the waves after it and leaves the ones before as they are: the waves report (reports/waves-*.md) lists what each
wave did and the commands that roll the completed ones back.

${exitCodeHelp()}`;

export async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help")) {
        process.stdout.write(helpText("npm run promote -- --from <stack> --to <stack> [flags]", INTRO, PROMOTE_FLAGS));
        return 0;
    }
    let values: Record<string, string>;
    let switches: Set<string>;
    try {
        ({ values, switches } = parseArgs(argv, PROMOTE_FLAGS));
        if (switches.has("approve")) {
            checkApproveFlags(values, switches);
        } else {
            for (const flag of ["by", "image"]) {
                if (values[flag] !== undefined) {
                    throw new UsageError(`--${flag} needs --approve`);
                }
            }
        }
        for (const required of switches.has("approve") ? [] : ["from", "to"]) {
            if (values[required] === undefined) {
                throw new UsageError(
                    `--${required} is required: the ${required === "from" ? "source" : "target"} stack, e.g. --from staging --to prod`,
                );
            }
        }
        configFrom(values);
        if (values.to?.includes(",") && switches.has("approve")) {
            throw new UsageError("--approve records an approval on one stack: give --to a single stack");
        }
        if (values.to?.split(",").includes(values.from ?? "")) {
            throw new UsageError(`--to names --from (${values.from}): a stack cannot be promoted from itself`);
        }
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return EXIT_CODES.usage;
    }
    if (switches.has("approve")) {
        return approveMain(values, switches);
    }
    if (values.to.includes(",")) {
        return wavesMain(values, switches);
    }
    const workDir = path.resolve(values["work-dir"] ?? ".");
    const dryRun = switches.has("dry-run");
    const reportDir = values["report-dir"] ?? "reports";
    let target: AutomationStack | undefined;
    let kube: KubeApi | undefined;
    const interrupt = interruptSignal();
    try {
        requirePulumiCli();
        const readState = async (name: string) => promotionState(await readStackOutputs(name, workDir));
        // Decide before opening the target for writing, so a refusal touches nothing.
        target = await AutomationStack.open(values.to, workDir, dryRun).catch((e: Error) => {
            if (e instanceof StackNotFoundError) {
                return undefined;
            }
            throw e;
        });
        if (target === undefined) {
            process.stderr.write(`refused: stack ${values.to} does not exist in ${workDir}\n`);
            return EXIT_CODES.usage;
        }
        kube = clusterApi(await target.kubeTarget(), workDir);
        const result = await promote(
            {
                from: values.from,
                to: values.to,
                version: values.version,
                sourceReport: { report: latestReport(reportDir, values.from, values.version ?? "") },
                release: {
                    dryRun,
                    policy: prometheusCredentialsFromEnv(),
                    configFrom: configFrom(values),
                },
            },
            {
                readState,
                target,
                leases: new KubeLeases(kube),
                workloads: new KubeWorkloads(kube),
                signal: interrupt.signal,
                engineOutput: switches.has("quiet") ? undefined : printEngineLine,
            },
        );
        const d = result.decision;
        if (d.action === "refuse") {
            process.stderr.write(`refused: ${d.reason}\n`);
            return EXIT_CODES.usage;
        }
        if (d.action === "no-op") {
            process.stdout.write(`nothing to do: ${d.reason}\n`);
            return 0;
        }
        const r = result.release!;
        reportOutcome(
            { ...r, dryRun },
            reportDir,
            `${values.from} -> ${values.to}: ${d.version} ${r.outcome}: ${r.reason}`,
        );
        return exitCode(r);
    } catch (e) {
        return refusalOrThrow(e);
    } finally {
        interrupt.dispose();
        target?.dispose();
        kube?.close();
    }
}

/** `--to a,b,c`: the waves, each target opened when its turn comes, on its own cluster. */
async function wavesMain(values: Record<string, string>, switches: Set<string>): Promise<number> {
    const workDir = path.resolve(values["work-dir"] ?? ".");
    const dryRun = switches.has("dry-run");
    const reportDir = values["report-dir"] ?? "reports";
    const to = values.to.split(",");
    const interrupt = interruptSignal();
    try {
        requirePulumiCli();
        // Every wave's stack must exist before the first wave moves anything.
        for (const name of to) {
            if ((await readStackOutputs(name, workDir)) === undefined) {
                process.stderr.write(`refused: stack ${name} does not exist in ${workDir} or was never deployed\n`);
                return EXIT_CODES.usage;
            }
        }
        const result = await promoteWaves(
            {
                from: values.from,
                to,
                version: values.version,
                sourceReport: (from, version) => latestReport(reportDir, from, version),
                release: { dryRun, policy: prometheusCredentialsFromEnv(), configFrom: configFrom(values) },
            },
            {
                readState: async (name) => promotionState(await readStackOutputs(name, workDir)),
                openTarget: async (name) => {
                    const target = await AutomationStack.open(name, workDir, dryRun);
                    let kube: KubeApi;
                    try {
                        kube = clusterApi(await target.kubeTarget(), workDir);
                    } catch (e) {
                        target.dispose();
                        throw e;
                    }
                    return {
                        target,
                        leases: new KubeLeases(kube),
                        workloads: new KubeWorkloads(kube),
                        engineOutput: switches.has("quiet") ? undefined : printEngineLine,
                        dispose: () => {
                            target.dispose();
                            kube.close();
                        },
                    };
                },
                signal: interrupt.signal,
            },
        );
        const reports: Record<string, string> = {};
        for (const w of result.waves) {
            if (w.release !== undefined) {
                reportOutcome(
                    { ...w.release, dryRun },
                    reportDir,
                    `${w.from} -> ${w.to}: ${w.release.version} ${w.release.outcome}: ${w.release.reason}`,
                );
                const md = latestReport(reportDir, w.to, w.release.version);
                if (md !== undefined) {
                    reports[w.to] = path.basename(md);
                }
            }
        }
        const files = writeWavesReport(result, reportDir, reports);
        process.stdout.write(
            `${dryRun ? "dry run (nothing changed): " : ""}waves ${to.join(", ")}: ${result.outcome}` +
                `${result.stoppedAt ? ` at ${result.stoppedAt}` : ""}\nwaves report: ${files.markdown}\n`,
        );
        for (const c of result.rollbackCommands) {
            process.stdout.write(`to roll back a completed wave: ${c}\n`);
        }
        const last = result.waves.find((w) => w.to === result.stoppedAt);
        if (last === undefined) {
            return 0;
        }
        return last.release !== undefined ? exitCode(last.release) : EXIT_CODES.usage;
    } catch (e) {
        return refusalOrThrow(e);
    } finally {
        interrupt.dispose();
    }
}

/** An expected error (a refusal before anything moved, a usage error) is said in one line (exit 2); others throw. */
function refusalOrThrow(e: unknown): number {
    if (expectedError(e)) {
        process.stderr.write(`${e instanceof PreflightError ? "refused" : "error"}: ${(e as Error).message}\n`);
        return EXIT_CODES.usage;
    }
    throw e;
}

/** The flags of `--approve`, checked before anything is opened. */
export function checkApproveFlags(values: Record<string, string>, switches: Set<string>): void {
    const example = "npm run promote -- --approve --from staging --to prod --version v2";
    for (const flag of ["to", "version"]) {
        if (values[flag] === undefined) {
            throw new UsageError(`--approve needs --${flag}: ${example}`);
        }
    }
    if (values.from === undefined && values.image === undefined) {
        throw new UsageError(
            `--approve needs --from (the image approved is the one that stack runs as --version) or --image <ref>: ${example}`,
        );
    }
    for (const flag of ["dry-run", "config-from"]) {
        if (values[flag] !== undefined || switches.has(flag)) {
            throw new UsageError(`--${flag} cannot be used with --approve: it only records an approval on --to`);
        }
    }
}

/**
 * `--approve --from staging --to prod --version v2`: records the approval of v2 and the image staging runs as v2 on
 * the target, by an update that changes no resource.
 */
async function approveMain(values: Record<string, string>, switches: Set<string>): Promise<number> {
    const by = values.by ?? process.env.GITHUB_ACTOR ?? process.env.USER ?? "";
    const workDir = path.resolve(values["work-dir"] ?? ".");
    let target: AutomationStack | undefined;
    try {
        requirePulumiCli();
        const source =
            values.from === undefined ? undefined : promotionState(await readStackOutputs(values.from, workDir));
        const image = approvedImage({ from: values.from, version: values.version, image: values.image }, source);
        target = await AutomationStack.open(values.to, workDir, false);
        const a = await approvePromotion(
            { to: values.to, version: values.version, image, by },
            {
                target,
                clock: systemClock,
                engineOutput: switches.has("quiet") ? undefined : printEngineLine,
            },
        );
        process.stdout.write(
            `approved: ${a.version} (${a.image}) may be promoted to ${values.to} once (by ${a.by} at ${a.at})\n`,
        );
        return 0;
    } catch (e) {
        if (expectedError(e)) {
            process.stderr.write(`refused: ${(e as Error).message}\n`);
            return EXIT_CODES.usage;
        }
        throw e;
    } finally {
        target?.dispose();
    }
}

runMain(module, main);

/**
 * `npm run release -- --stack dev --image registry/app:v2 ...`: the release bot on the command line (parse the
 * flags, run one release, map its outcome to an exit code: EXIT_CODE_TABLE in stacks/release/result.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, KeySpec } from "../../config/reader";
import { parsePolicy, policyKeySpecs, promDurationMs, PROM_DURATION_ACCEPTS, ReleasePolicy } from "../../config/policy";
import { MAX_WAIT_MS } from "../../config/policy-rules";
import { IMAGE_ACCEPTS, IMAGE_REF } from "../../components/validation";
import { APPROVER, APPROVER_ACCEPTS, GATE_PATTERN } from "../../config/release-state";
import { InlineStack } from "../automation/inline-stack";
import { requirePulumiCli } from "../automation/local-stack";
import { KubeApi } from "../automation/kube-api";
import { KubeWorkloads } from "../automation/kube-workloads";
import { KubeRouting } from "../automation/routing-patch";
import { clusterApi, KubeLeases } from "../release/kube-lease";
import { ReleaseOptions } from "../release/context";
import { prometheusCredentialsFromEnv } from "../release/prometheus";
import { EXIT_CODES, exitCode, exitCodeHelp } from "../release/result";
import { runRelease } from "../release/run";
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

/** Policy flags, declared with their keys in config/policy.ts: each overrides one key of the stack config. */
const POLICY_FLAGS: (FlagSpec & { spec: KeySpec })[] = policyKeySpecs()
    .filter((spec) => spec.flag !== undefined)
    .map((spec) => ({
        name: spec.flag!.name,
        kind: spec.flag!.arg === undefined ? "switch" : "value",
        arg: spec.flag!.arg,
        help: `${spec.doc} Config: ${spec.key}.`,
        spec,
    }));

/** The policy field a key fills ("policy.steps" -> "steps"). */
const policyField = (spec: KeySpec) => spec.field!.replace(/^policy\./, "") as keyof ReleasePolicy;

export const RELEASE_FLAGS: FlagSpec[] = [
    { name: "stack", kind: "value", arg: "<name>", help: "Stack to release on (required).", grammar: STACK_NAME },
    {
        name: "work-dir",
        kind: "value",
        arg: "<dir>",
        help: "Pulumi project directory. Defaults to the current directory.",
        grammar: LOCAL_PATH,
    },
    {
        name: "image",
        kind: "value",
        arg: "<ref>",
        help:
            "Image of the new version (required unless --resume). With --resume, --approve or --abort: the image of " +
            "the release in progress; refused when it differs.",
        grammar: { accepts: IMAGE_ACCEPTS, valid: (v) => IMAGE_REF.test(v) },
    },
    {
        name: "version",
        kind: "value",
        arg: "<label>",
        help:
            "Version label of the new version. Defaults to the image tag. With --approve (required) or --abort: the " +
            "version of the release decided on; refused when it differs.",
        grammar: VERSION_LABEL,
    },
    { name: "resume", kind: "switch", help: "Continue the release (or rollback) in progress from the deployed state." },
    {
        name: "approve",
        kind: "switch",
        help:
            "Approve the manual gate the release waits at and continue it (implies --resume). Needs --version and " +
            "--gate (and takes --image): refused unless they name the release and gate waiting. The approval records " +
            "the version, image and gate it approved.",
    },
    {
        name: "abort",
        kind: "switch",
        help:
            "Roll the release in progress back, from any state (implies --resume). --version and --image are checked " +
            "when given, but not required: an abort only puts traffic back on stable.",
    },
    {
        name: "gate",
        kind: "value",
        arg: "<weight|complete>",
        help: "With --approve (required): the gate approved; refused if the release waits at another.",
    },
    {
        name: "by",
        kind: "value",
        arg: "<name>",
        help: "With --approve or --abort: who decides. Defaults to $GITHUB_ACTOR, else $USER.",
    },
    {
        name: "wait-for-approval",
        kind: "value",
        arg: "<duration>",
        help: "At a gate: wait this long (e.g. 30m) for a decision by another process before stopping (exit 10).",
    },
    configFromFlag(
        "When the checkout's config disagrees with the deployed stack (stable, release status): which side wins.",
    ),
    {
        name: "take-over",
        kind: "switch",
        help:
            "Take the release lease (a Kubernetes Lease) now from another bot whose hold has not expired; that bot " +
            "stops before its next write. Only when it is gone or stuck.",
    },
    { name: "dry-run", kind: "switch", help: "Preview every step on a scratch copy of the config; change nothing." },
    {
        name: "step-size",
        kind: "value",
        arg: "<n>",
        help: "Instead of --steps: weights n, 2n, ... up to --max-weight, then 100.",
    },
    {
        name: "max-weight",
        kind: "value",
        arg: "<n>",
        help: "With --step-size: the last weight before 100. Defaults to 50.",
    },
    ...POLICY_FLAGS.map(({ name, kind, arg, help, spec }): FlagSpec => ({
        name,
        kind,
        arg,
        help,
        ...(spec.flag?.file ? { grammar: LOCAL_PATH } : {}),
    })),
    {
        name: "no-targeted-rollback",
        kind: "switch",
        help: "Roll back with a full update only (default: a targeted update of the routes first).",
    },
    {
        name: "report-dir",
        kind: "value",
        arg: "<dir>",
        help: "Where the report goes (Markdown, JSON, SVG). Defaults to reports.",
        grammar: LOCAL_PATH,
    },
    { name: "quiet", kind: "switch", help: "Do not stream the engine output of each update." },
    { name: "help", kind: "switch", help: "Show this help." },
];

const INTRO = `Releases a new version on a stack of the istio-canary program: deploys it as the canary at weight 0, steps
the weight, judges the canary on Prometheus after each step, rolls back at the failure threshold and completes
(stable takes the new version) after the last step passes. Every change is a stack config change plus
\`pulumi up\`. Flags override the release policy in stack config. Prometheus credentials come from the stack's
secret config (prometheusToken, or prometheusUser and prometheusPassword) or the environment variables
PROMETHEUS_TOKEN, PROMETHEUS_USER and PROMETHEUS_PASSWORD, which override the stack's.
The bot starts from the stack's last deployed config (the backend's), takes an owner lease in stack config, and
stops on SIGTERM/SIGINT leaving the release resumable.
Manual gates (releaseGates, --gates): at a gate the bot records awaiting-approval and exits 10; --approve
--version <label> --gate <weight|complete> [--image <ref>] continues from the gate, refused unless they name the
release and gate waiting; --abort rolls back (both name who decides with --by). --wait-for-approval waits
in-process for a decision recorded by another process. Webhooks (releaseHooks) and load while judging (releaseLoadUrl): README.

${exitCodeHelp()}`;

/** Steps "n, 2n, ... up to max, then 100". */
export function stepsFromSize(size: number, max: number): string {
    const steps: number[] = [];
    for (let w = size; w <= max && w < 100; w += size) {
        steps.push(w);
    }
    return [...steps, 100].join(",");
}

/** Turns flags into release options; flag problems are reported with the flag's name. */
export function releaseOptionsFromFlags(
    argv: string[],
): ReleaseOptions & { stack: string; workDir: string; reportDir: string; quiet: boolean } {
    const { values, switches } = parseArgs(argv, RELEASE_FLAGS);
    if (values.stack === undefined) {
        throw new UsageError("--stack is required: the stack to release on, e.g. --stack dev");
    }
    if (values.steps !== undefined && values["step-size"] !== undefined) {
        throw new UsageError("use either --steps or --step-size, not both");
    }
    if (values["max-weight"] !== undefined && values["step-size"] === undefined) {
        throw new UsageError("--max-weight needs --step-size (with --steps, list the weights instead)");
    }
    const decision = decisionFromFlags(values, switches);
    if (switches.has("resume") && values.version !== undefined && decision === undefined) {
        throw new UsageError("--version cannot be used with --resume: the release in progress has its version");
    }
    if (switches.has("resume") && (values["step-size"] !== undefined || values.steps !== undefined)) {
        throw new UsageError("--steps and --step-size cannot be used with --resume: the release keeps its steps");
    }
    const side = configFrom(values);
    if (values["step-size"] !== undefined) {
        const decimal = (text: string | undefined) =>
            text !== undefined && /^\d{1,3}$/.test(text) ? Number(text) : NaN;
        const size = decimal(values["step-size"]);
        const max = decimal(values["max-weight"] ?? "50");
        if (!Number.isInteger(size) || size < 1 || size > 99) {
            throw new UsageError(
                `--step-size must be an integer from 1 to 99; got ${JSON.stringify(values["step-size"])}`,
            );
        }
        if (!Number.isInteger(max) || max < size || max > 100) {
            throw new UsageError(
                `--max-weight must be an integer from --step-size to 100; got ${JSON.stringify(values["max-weight"] ?? "50")}` +
                    (values["max-weight"] === undefined ? " (the default)" : ""),
            );
        }
        values.steps = stepsFromSize(size, max);
    }
    const raw: Record<string, string> = {};
    for (const f of POLICY_FLAGS) {
        if (f.kind === "switch" ? switches.has(f.name) : values[f.name] !== undefined) {
            raw[f.spec.key] =
                f.kind === "switch" ? "true" : f.spec.flag!.file ? readFile(f.name, values[f.name]) : values[f.name];
        }
    }
    let parsed: ReleasePolicy;
    try {
        parsed = parsePolicy(raw, new Set(), { onlyGiven: true });
    } catch (e) {
        if (e instanceof ConfigError) {
            const byKey = new Map(POLICY_FLAGS.map((f) => [f.spec.key, `--${f.name}`]));
            throw new UsageError(e.problems.map((p) => p.replace(/^(\w+)/, (k) => byKey.get(k) ?? k)).join("\n"));
        }
        throw e;
    }
    const policy: Partial<ReleasePolicy> = {};
    for (const f of POLICY_FLAGS) {
        if (f.spec.key in raw) {
            (policy as Record<string, unknown>)[policyField(f.spec)] = parsed[policyField(f.spec)];
        }
    }
    Object.assign(policy, prometheusCredentialsFromEnv());
    return {
        stack: values.stack,
        workDir: path.resolve(values["work-dir"] ?? "."),
        image: values.image,
        version: values.version,
        resume: switches.has("resume") || decision !== undefined,
        ...(decision !== undefined ? { decision } : {}),
        ...waitFromFlags(values),
        configFrom: side,
        takeOver: switches.has("take-over"),
        dryRun: switches.has("dry-run"),
        targetedRollback: !switches.has("no-targeted-rollback"),
        policy,
        reportDir: values["report-dir"] ?? "reports",
        quiet: switches.has("quiet"),
    };
}

/** `--approve`/`--abort` with `--gate` and `--by`: the decision, checked. */
function decisionFromFlags(values: Record<string, string>, switches: Set<string>): ReleaseOptions["decision"] {
    const kind = switches.has("approve") ? "approve" : switches.has("abort") ? "abort" : undefined;
    if (switches.has("approve") && switches.has("abort")) {
        throw new UsageError("use either --approve or --abort, not both");
    }
    if (kind === undefined) {
        for (const flag of ["gate", "by"]) {
            if (values[flag] !== undefined) {
                throw new UsageError(`--${flag} needs --approve or --abort`);
            }
        }
        return undefined;
    }
    const missing = ["version", "gate"].filter((flag) => values[flag] === undefined);
    if (kind === "approve" && missing.length > 0) {
        throw new UsageError(
            `--approve needs --version <label> and --gate <weight|complete> (missing: ${missing.map((f) => `--${f}`).join(", ")}): ` +
                "an approval names the release and the gate it approves, as the gate's message prints them " +
                `(npm run release -- --stack ${values.stack ?? "<name>"} --approve --version <label> --gate <weight|complete> --image <ref>)`,
        );
    }
    if (values.gate !== undefined && (kind === "abort" || !GATE_PATTERN.test(values.gate))) {
        throw new UsageError(
            kind === "abort"
                ? "--gate is for --approve: --abort rolls back from any state"
                : `--gate must be a step weight or "complete"; got ${JSON.stringify(values.gate)}`,
        );
    }
    const by = values.by ?? process.env.GITHUB_ACTOR ?? process.env.USER ?? "";
    if (!APPROVER.test(by)) {
        throw new UsageError(
            `--by must be ${APPROVER_ACCEPTS}; got ${JSON.stringify(by)}${values.by === undefined ? " (from $GITHUB_ACTOR or $USER)" : ""}`,
        );
    }
    return { kind, by, ...(values.gate !== undefined ? { gate: values.gate } : {}) };
}

/** `--wait-for-approval`, checked: at most a day. */
function waitFromFlags(values: Record<string, string>): { waitForApprovalMs?: number } {
    const text = values["wait-for-approval"];
    if (text === undefined) {
        return {};
    }
    const ms = promDurationMs(text);
    if (ms === undefined || ms < 1000 || ms > MAX_WAIT_MS) {
        throw new UsageError(
            `--wait-for-approval must be ${PROM_DURATION_ACCEPTS}, from 1s to 24h; got ${JSON.stringify(text)}`,
        );
    }
    return { waitForApprovalMs: ms };
}

function readFile(flag: string, file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`--${flag} must be a readable file; ${(e as Error).message}`);
    }
}

export async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help")) {
        process.stdout.write(helpText("npm run release -- --stack <name> --image <ref> [flags]", INTRO, RELEASE_FLAGS));
        return 0;
    }
    let opts;
    try {
        opts = releaseOptionsFromFlags(argv);
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return EXIT_CODES.usage;
    }
    let driver: InlineStack | undefined;
    const interrupt = interruptSignal();
    let kube: KubeApi | undefined;
    try {
        requirePulumiCli();
        // The program runs inline, in this process: no Node.js start-up or compile per update.
        driver = await InlineStack.open(opts.stack, opts.workDir, opts.dryRun);
        kube = clusterApi(await driver.kubeTarget(), driver.projectDirectory);
        const result = await runRelease(opts, {
            stack: driver,
            routing: new KubeRouting(kube),
            leases: new KubeLeases(kube),
            workloads: new KubeWorkloads(kube),
            signal: interrupt.signal,
            engineOutput: opts.quiet ? undefined : printEngineLine,
        });
        reportOutcome({ ...result, dryRun: opts.dryRun }, opts.reportDir, `${result.outcome}: ${result.reason}`);
        return exitCode(result);
    } catch (e) {
        if (expectedError(e)) {
            process.stderr.write(`error: ${(e as Error).message}\n`);
            return EXIT_CODES.usage;
        }
        throw e;
    } finally {
        interrupt.dispose();
        driver?.dispose();
        kube?.close();
    }
}

runMain(module, main);

/**
 * Preflight: everything the release needs is checked before anything changes (the stack's whole config, the
 * release to start or resume, the checks, Prometheus). Any problem is a {@link PreflightError}.
 */
import { appNamespace, deploymentName } from "../../components/names";
import { durationMs, IMAGE_ACCEPTS, IMAGE_REF, LABEL_VALUE, VERSION_ACCEPTS } from "../../components/validation";
import { ReleasePolicy } from "../../config/policy";
import { parseConfig, ProgramConfig } from "../../config/program";
import { ReleaseView } from "../../config/release-state";
import { buildChecks, CanaryTarget } from "./analysis";
import { Prepared, ReleaseDeps, ReleaseOptions } from "./context";
import { imageTag } from "./plan";
import { MetricsSource, PrometheusClient } from "./prometheus";
import { PreflightError } from "./result";

/** Reads and checks everything; throws {@link PreflightError} with the reason when the release cannot start. */
export async function preflight(opts: ReleaseOptions, deps: ReleaseDeps): Promise<Prepared> {
    const { stack } = deps;
    const { values, secretKeys } = await stack.getConfig();
    let cfg: ProgramConfig;
    try {
        // The whole program config: an `up` that cannot even start must not be found out mid-release.
        cfg = parseConfig(values, secretKeys);
    } catch (e) {
        throw new PreflightError(`the stack config of ${stack.name} is invalid:\n${(e as Error).message}`);
    }
    const policy: ReleasePolicy = { ...cfg.policy, ...(opts.policy ?? {}) };
    if (policy.headerPhase && cfg.release.canaryHeader === undefined) {
        throw new PreflightError(
            "the header phase needs canaryHeader in stack config (e.g. `pulumi config set canaryHeader x-canary`)",
        );
    }
    const { app } = cfg.release;
    const target: CanaryTarget = {
        namespace: appNamespace(app, cfg.release.namespace),
        workload: deploymentName(app, "canary"),
    };
    const checks = buildChecks(policy, target);
    if (checks.length === 0) {
        throw new PreflightError(
            "no health checks: keep releaseMinSuccessRate or releaseMaxLatencyMs above 0, or add releaseChecks " +
                "(a minimum request count alone says nothing about health)",
        );
    }
    const view: ReleaseView = {
        state: cfg.state,
        canaryWeight: cfg.release.canaryWeight ?? 0,
        stable: cfg.release.stable,
        canary: cfg.release.canary,
    };
    const { image, version } = opts.resume ? resumed(opts, view, stack.name) : started(opts, view, stack.name);
    const metrics = deps.metrics ?? prometheusFor(policy);
    try {
        await metrics.ping();
    } catch (e) {
        throw new PreflightError(
            `Prometheus is not reachable, so the canary cannot be judged: ${(e as Error).message}`,
        );
    }
    const intervalMs = durationMs(policy.interval) ?? 60_000;
    return { policy, image, version, view, config: values, checks, target, metrics, intervalMs };
}

/** The release in progress, which `--resume` continues. */
function resumed(opts: ReleaseOptions, view: ReleaseView, stack: string): { image: string; version: string } {
    const state = view.state;
    if (state.status !== "in-progress" || state.image === undefined || state.version === undefined) {
        throw new PreflightError(
            `nothing to resume on stack ${stack}: releaseStatus is "${state.status}", not "in-progress"`,
        );
    }
    if (opts.image !== undefined && opts.image !== state.image) {
        throw new PreflightError(
            `--image ${opts.image} does not match the release in progress (${state.image}); omit --image to resume it`,
        );
    }
    return { image: state.image, version: state.version };
}

/** A new release of `--image` (and `--version`, by default its tag). */
function started(opts: ReleaseOptions, view: ReleaseView, stack: string): { image: string; version: string } {
    if (view.state.status === "in-progress") {
        throw new PreflightError(
            `a release is already in progress on stack ${stack}: ${view.state.version ?? "?"} at canaryWeight ` +
                `${view.canaryWeight}. Resume it with --resume (only if no other bot is running it).`,
        );
    }
    if (opts.image === undefined) {
        throw new PreflightError("--image is required to start a release");
    }
    if (!IMAGE_REF.test(opts.image)) {
        throw new PreflightError(`--image must be ${IMAGE_ACCEPTS}; got "${opts.image}"`);
    }
    const version = opts.version ?? imageTag(opts.image);
    if (version === undefined) {
        throw new PreflightError(`--version is required: the image ${opts.image} has no tag to take it from`);
    }
    if (!LABEL_VALUE.test(version)) {
        throw new PreflightError(
            `${opts.version === undefined ? "the image tag (the default --version)" : "--version"} must be ${VERSION_ACCEPTS}; got "${version}"`,
        );
    }
    return { image: opts.image, version };
}

/** The Prometheus client the policy describes. */
function prometheusFor(policy: ReleasePolicy): MetricsSource {
    if (policy.prometheusUrl === undefined) {
        throw new PreflightError(
            "no Prometheus to judge the canary: set prometheusUrl in stack config or pass --prometheus-url",
        );
    }
    return new PrometheusClient({
        url: policy.prometheusUrl,
        timeoutMs: durationMs(policy.prometheusTimeout) ?? 10_000,
        token: policy.prometheusToken,
        user: policy.prometheusUser,
        password: policy.prometheusPassword,
    });
}

/**
 * Preflight: everything the release needs is checked before anything changes. The stack's config is read with
 * the deployed release state (origin.ts), the whole of it validated with the bot's overrides, the owner lease
 * taken (lease.ts), where the run enters the release decided (entry.ts) and the release it starts or resumes
 * checked, and every query run once against Prometheus. Any problem is a {@link PreflightError}, and the stack
 * config is left as it was.
 */
import { appNamespace, deploymentName } from "../../components/names";
import { IMAGE_ACCEPTS, IMAGE_REF, imageTag, LABEL_VALUE, VERSION_ACCEPTS } from "../../components/validation";
import { policyProblems, policyTimes, ReleasePolicy } from "../../config/policy";
import { parseConfig, ProgramConfig } from "../../config/program";
import { PROTOCOL_KEYS, ReleaseView, STATE_KEYS } from "../../config/release-state";
import { ReplicaSource } from "../automation/kube-workloads";
import { buildChecks, CanaryTarget, Check, safeQuery } from "./analysis";
import { systemClock } from "./clock";
import { logOf, Prepared, ReleaseDeps, ReleaseOptions } from "./context";
import { entryOf } from "./entry";
import { KubeLease, leaseNamespace } from "./kube-lease";
import { ConfigLease, processIdentity, ReleaseLease } from "./lease";
import { startingPoint, withChanges } from "./origin";
import { MetricsSource, PrometheusClient } from "./prometheus";
import { PreflightError } from "./result";
import { CANARY_RELEASE_DEFAULTS as D, RoutingApi } from "../../components/canary-release-args";
import { shiftedRoutes } from "../../components/gateway-api";

/** Reads and checks everything; throws {@link PreflightError} with the reason when the release cannot start. */
export async function preflight(opts: ReleaseOptions, deps: ReleaseDeps): Promise<Prepared> {
    const { stack } = deps;
    if (opts.resume && opts.version !== undefined && opts.decision === undefined) {
        throw new PreflightError("--version cannot be used with --resume: the release in progress has its version");
    }
    const { values: local, secretKeys } = await stack.getConfig();
    const lease = releaseLease(local, deps);
    // The lock first: before the deployed release state is read, and before any preview or update.
    await lease.lock(opts.takeOver ?? false);
    try {
        return await prepare(opts, deps, lease, { local, secretKeys });
    } catch (e) {
        await lease.letGo().catch(() => undefined);
        throw e;
    }
}

/**
 * The lease of this run: a Kubernetes Lease in the app's namespace (as the checkout's config names it) when the
 * cluster's Leases are given, else the lease in stack config.
 */
function releaseLease(local: Record<string, string>, deps: ReleaseDeps): ReleaseLease {
    const me = deps.identity ?? processIdentity();
    const clock = deps.clock ?? systemClock;
    if (deps.leases === undefined) {
        return new ConfigLease(deps.stack, me, clock);
    }
    const namespace = leaseNamespace(local);
    if (namespace === undefined) {
        throw new PreflightError(
            `the release lease lives in the app's namespace, and the stack config of ${deps.stack.name} names none ` +
                `(app ${JSON.stringify(local.app ?? "")}, namespace ${JSON.stringify(local.namespace ?? "")}): set app`,
        );
    }
    return new KubeLease({ namespace, stack: deps.stack, api: deps.leases, me, clock, log: logOf(deps) });
}

/** Preflight once the lease's lock is taken. */
async function prepare(
    opts: ReleaseOptions,
    deps: ReleaseDeps,
    lease: ReleaseLease,
    { local, secretKeys }: { local: Record<string, string>; secretKeys: Set<string> },
): Promise<Prepared> {
    const { stack } = deps;
    const deployed = await stack.deployedConfig();
    const adopted = startingPoint(stack.name, local, deployed, opts.configFrom);
    const values = withChanges(local, adopted);
    let cfg: ProgramConfig;
    try {
        // The whole program config: an `up` that cannot even start must not be found out mid-release.
        cfg = parseConfig(values, secretKeys);
    } catch (e) {
        throw new PreflightError(`the stack config of ${stack.name} is invalid:\n${(e as Error).message}`);
    }
    const policy: ReleasePolicy = { ...cfg.policy, ...(opts.policy ?? {}) };
    const problems = policyProblems(policy);
    if (problems.length > 0) {
        throw new PreflightError(`the release policy (stack config and flags) is invalid:\n${problems.join("\n")}`);
    }
    if (policy.headerPhase && cfg.release.canaryHeader === undefined) {
        throw new PreflightError(
            "the header phase needs canaryHeader in stack config (e.g. `pulumi config set canaryHeader x-canary`)",
        );
    }
    const gatewayApi = (cfg.release.routingApi ?? D.routingApi) === RoutingApi.GatewayApi;
    if (gatewayApi && policy.mirrorPercent !== undefined && !Number.isInteger(policy.mirrorPercent)) {
        throw new PreflightError(
            `releaseMirrorPercent must be a whole percentage with routingApi "gateway-api" (a RequestMirror's percent is an integer); got ${policy.mirrorPercent}`,
        );
    }
    const view: ReleaseView = {
        state: cfg.state,
        canaryWeight: cfg.release.canaryWeight ?? 0,
        stable: cfg.release.stable,
        canary: cfg.release.canary,
    };
    // Which release: checked before the lease only where it depends on nothing another bot could change.
    const release = opts.resume ? undefined : requestedRelease(opts);
    const { app } = cfg.release;
    const namespace = appNamespace(app, cfg.release.namespace);

    const undo = await lease.acquire({ local, deployed, takeOver: opts.takeOver ?? false, alongside: adopted });
    try {
        const leased = (await stack.getConfig()).values;
        view.state = { ...view.state, owner: lease.holder, leaseExpires: leased[STATE_KEYS.leaseExpires] };
        const pendingDeploy = PROTOCOL_KEYS.some(
            (k) =>
                k !== STATE_KEYS.owner &&
                k !== STATE_KEYS.leaseExpires &&
                deployed !== undefined &&
                (values[k] ?? "") !== (deployed[k] ?? ""),
        );
        const entry = entryOf(stack.name, view, opts, pendingDeploy);
        if (entry.kind === "refused") {
            throw new PreflightError(entry.reason);
        }
        const { image, version } = entry.kind === "fresh" ? release! : resumed(opts, view);
        if (entry.kind === "fresh") {
            checkPromotionApproval(stack.name, opts, view);
        }
        const target: CanaryTarget = { namespace, workload: deploymentName(app, "canary"), version };
        const checks = buildChecks(policy, target);
        if (checks.length === 0) {
            throw new PreflightError(
                "no health checks: keep releaseMinSuccessRate or releaseMaxLatencyMs above 0, or add releaseChecks " +
                    "(a minimum request count alone says nothing about health)",
            );
        }
        const times = policyTimes(policy);
        const metrics = deps.metrics ?? prometheusFor(policy, times.prometheusTimeoutMs, deps.signal);
        await checkMetrics(metrics, checks);
        return {
            policy,
            image,
            version,
            view,
            config: { ...leased },
            deployed: Object.fromEntries(PROTOCOL_KEYS.map((k) => [k, (deployed ?? values)[k]])),
            checks,
            target,
            app,
            routes: {
                targets: shiftedRoutes(app, gatewayApi, cfg.release.protocol ?? D.protocol).map((r) => ({
                    ...r,
                    namespace,
                })),
                userMirrorPercent: cfg.userMirrorPercent,
            },
            canaryHeader: cfg.release.canaryHeader,
            metrics,
            times,
            lease,
            entry,
            ...(cfg.release.autoscaling !== undefined && deps.workloads !== undefined
                ? { stableReplicas: replicasOf(deps.workloads, namespace, deploymentName(app, "stable")) }
                : {}),
        };
    } catch (e) {
        await undo();
        throw e;
    }
}

/**
 * Prometheus answers, and every query runs once: a broken custom query fails here, before any traffic moves.
 * No data is fine (the canary has no traffic yet); an error is not.
 */
async function checkMetrics(metrics: MetricsSource, checks: Check[]): Promise<void> {
    try {
        await metrics.ping();
    } catch (e) {
        const message = (e as Error).message;
        throw new PreflightError(
            /unauthorized/.test(message)
                ? `Prometheus refused the bot's credentials, so the canary cannot be judged: ${message}`
                : `Prometheus is not reachable, so the canary cannot be judged: ${message}`,
        );
    }
    const broken: string[] = [];
    for (const check of checks) {
        const r = await safeQuery(metrics, check.query);
        if (r.kind === "error") {
            broken.push(`${check.name}: ${r.reason}`);
        }
    }
    if (broken.length > 0) {
        throw new PreflightError(`queries that do not work, so nothing was started:\n${broken.join("\n")}`);
    }
}

/** The release a resumed run continues (entry.ts found one): the one the flags and the canary track name. */
function resumed(opts: ReleaseOptions, view: ReleaseView): { image: string; version: string } {
    const { state, canary } = view;
    const release = { image: state.image!, version: state.version! };
    if (opts.image !== undefined && opts.image !== release.image) {
        throw new PreflightError(
            `--image ${opts.image} does not match the release in progress (${release.image}); omit --image to resume it`,
        );
    }
    const releasing = state.status === "in-progress" || state.status === "awaiting-approval";
    if (releasing && (canary?.image !== release.image || canary?.version !== release.version)) {
        throw new PreflightError(
            `the canary track is configured to run ${canary?.version ?? "the stable version"} ` +
                `(${canary?.image ?? "canaryImage unset"}), not the release's ${release.version} (${release.image}); ` +
                "it will not be analysed. Put it back (canaryImage, canaryVersion) or roll back by hand",
        );
    }
    return release;
}

/**
 * A promotion's release uses the approval its gates checked: the stack must still hold that one, unused (another
 * process may have approved again, or promoted with it, since).
 */
function checkPromotionApproval(stack: string, opts: ReleaseOptions, view: ReleaseView): void {
    const checked = opts.promotion?.approval;
    const now = view.state.promotionApproval;
    const fields = ["version", "image", "by", "at", "usedAt", "usedFrom"] as const;
    if (checked !== undefined && !fields.every((f) => now?.[f] === checked[f])) {
        throw new PreflightError(
            `the promotion approval on stack ${stack} changed since the promotion checked it ` +
                `(checked ${JSON.stringify(checked)}, now ${JSON.stringify(now ?? null)}); nothing was started: promote again`,
        );
    }
}

/** The release that `--image` and `--version` ask for, checked. */
function requestedRelease(opts: ReleaseOptions): { image: string; version: string } {
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
function prometheusFor(policy: ReleasePolicy, timeoutMs: number, signal?: AbortSignal): MetricsSource {
    if (policy.prometheusUrl === undefined) {
        throw new PreflightError(
            "no Prometheus to judge the canary: set prometheusUrl in stack config or pass --prometheus-url",
        );
    }
    return new PrometheusClient({
        url: policy.prometheusUrl,
        timeoutMs,
        token: policy.prometheusToken,
        user: policy.prometheusUser,
        password: policy.prometheusPassword,
        signal,
    });
}

/** Reads a Deployment's live replica count from `workloads`. */
const replicasOf = (workloads: ReplicaSource, namespace: string, deployment: string) => () =>
    workloads.replicas(namespace, deployment);

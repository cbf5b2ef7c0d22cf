/**
 * Stack config -> component arguments, with every problem found before any resource is registered.
 *
 * Pure: it takes the raw config map (what `pulumi.runtime.allConfig()` returns) and the set of secret keys, and
 * returns the arguments of {@link IstioMesh} and {@link CanaryRelease} or the full list of problems. Each key is
 * declared once, with its accepted values and default; the same declarations produce the README's config
 * reference (`npm run docs:config`) and the "unknown key" check.
 */
import * as os from "os";
import { RunError } from "@pulumi/pulumi";
import { CanaryReleaseArgs, POD_SECURITY_LEVELS, APP_PROTOCOLS, TLS_MIN_VERSIONS, TlsArgs } from "./canary-release";
import { GATEWAY_SERVICE_TYPES, IstioMeshArgs, validateIstioMeshArgs } from "./istio-mesh";
import { validateCanaryReleaseArgs } from "./canary-release";
import { checkTlsPair } from "./tls";
import { DNS_LABEL_ACCEPTS, DURATION, IMAGE_ACCEPTS, VERSION_ACCEPTS, describeProblems, intRange } from "./validation";
import { Values } from "./values";

/** The config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "istio-canary";

/** One documented config key. */
export interface KeySpec {
    key: string;
    /** What the key accepts, as used in error messages ("an integer from 0 to 100"). */
    accepts: string;
    /** Default shown in the reference; undefined for required keys, "none" for optional ones. */
    default?: string;
    doc: string;
    group: string;
    secret?: boolean;
}

/**
 * Thrown for invalid stack config; the message lists every problem, one per line. A RunError, so the Pulumi CLI
 * prints the message without a stack trace.
 */
export class ConfigError extends RunError {
    constructor(public readonly problems: string[]) {
        super(describeProblems(problems));
        this.name = "ConfigError";
    }
}

/** Reads typed values from the raw map, recording each key's spec and each problem. */
class Reader {
    readonly problems: string[] = [];
    readonly specs: KeySpec[] = [];
    group = "";

    constructor(
        private readonly raw: Record<string, string>,
        private readonly secretKeys: ReadonlySet<string>,
    ) {}

    private declare(
        key: string,
        accepts: string,
        def: string | undefined,
        doc: string,
        secret = false,
    ): string | undefined {
        this.specs.push({ key, accepts, default: def, doc, group: this.group, secret });
        const value = this.raw[key];
        return value === undefined || value === "" ? undefined : value;
    }

    private bad(key: string, accepts: string, raw: string): undefined {
        this.problems.push(`${key} must be ${accepts}; got ${JSON.stringify(raw)}`);
        return undefined;
    }

    string(
        key: string,
        doc: string,
        o: { accepts?: string; pattern?: RegExp; def?: string; shown?: string } = {},
    ): string | undefined {
        const accepts = o.accepts ?? "a string";
        const raw = this.declare(key, accepts, o.shown ?? o.def ?? "none", doc);
        if (raw === undefined) {
            return o.def;
        }
        return o.pattern && !o.pattern.test(raw) ? this.bad(key, accepts, raw) : raw;
    }

    required(key: string, doc: string, accepts: string, pattern?: RegExp): string | undefined {
        const raw = this.declare(key, accepts, undefined, doc);
        if (raw === undefined) {
            this.problems.push(`${key} is required: set it to ${accepts} with \`pulumi config set ${key} <value>\``);
            return undefined;
        }
        return pattern && !pattern.test(raw) ? this.bad(key, accepts, raw) : raw;
    }

    int(key: string, doc: string, min: number, max: number | undefined, def: number): number {
        const accepts = intRange(min, max);
        const raw = this.declare(key, accepts, String(def), doc);
        if (raw === undefined) {
            return def;
        }
        const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
        if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
            this.bad(key, accepts, raw);
            return def;
        }
        return n;
    }

    optionalInt(key: string, doc: string, min: number, max?: number): number | undefined {
        const accepts = intRange(min, max);
        const raw = this.declare(key, accepts, "none", doc);
        if (raw === undefined) {
            return undefined;
        }
        const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
        return !Number.isInteger(n) || n < min || (max !== undefined && n > max) ? this.bad(key, accepts, raw) : n;
    }

    number(key: string, doc: string, min: number, max: number, def: number): number {
        const accepts = `a number from ${min} to ${max}`;
        const raw = this.declare(key, accepts, String(def), doc);
        if (raw === undefined) {
            return def;
        }
        const n = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
        if (!(n >= min && n <= max)) {
            this.bad(key, accepts, raw);
            return def;
        }
        return n;
    }

    bool(key: string, doc: string, def: boolean): boolean {
        const accepts = "true or false";
        const raw = this.declare(key, accepts, String(def), doc);
        if (raw === undefined) {
            return def;
        }
        if (raw !== "true" && raw !== "false") {
            this.bad(key, accepts, raw);
            return def;
        }
        return raw === "true";
    }

    oneOf<T extends string>(key: string, doc: string, values: readonly T[], def: T | undefined): T | undefined {
        const accepts = `one of ${values.join(", ")}`;
        const raw = this.declare(key, accepts, def ?? "none", doc);
        if (raw === undefined) {
            return def;
        }
        return (values as readonly string[]).includes(raw) ? (raw as T) : this.bad(key, accepts, raw);
    }

    /** A filesystem path; a leading "~/" is the user's home directory. */
    path(key: string, doc: string): string | undefined {
        const value = this.string(key, doc, { accepts: 'a directory path (a leading "~/" is the home directory)' });
        return value?.startsWith("~/") ? os.homedir() + value.slice(1) : value;
    }

    duration(key: string, doc: string, def?: string): string | undefined {
        return this.string(key, doc, { accepts: 'a duration such as "250ms", "5s" or "1m"', pattern: DURATION, def });
    }

    /** A list: a JSON array of strings (`pulumi config set --path 'key[0]' x`) or a comma-separated string. */
    list(key: string, doc: string, required: boolean): string[] | undefined {
        const accepts = 'a comma-separated list or a JSON array of strings, such as "app.example.com,www.example.com"';
        const raw = this.declare(key, accepts, required ? undefined : "none", doc);
        if (raw === undefined) {
            if (required) {
                this.problems.push(
                    `${key} is required: set it to ${accepts} with \`pulumi config set ${key} <value>\``,
                );
            }
            return undefined;
        }
        if (raw.trim().startsWith("[")) {
            try {
                const parsed: unknown = JSON.parse(raw);
                if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) {
                    return parsed;
                }
            } catch {
                // reported below
            }
            return this.bad(key, accepts, raw);
        }
        return raw
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "");
    }

    /** A JSON object (`pulumi config set --path key.a.b value`, or a JSON string). */
    object(key: string, doc: string, stringValues = false): Values | undefined {
        const accepts = stringValues ? "a JSON object of string values" : "a JSON object";
        const raw = this.declare(key, accepts, "none", doc);
        if (raw === undefined) {
            return undefined;
        }
        try {
            const parsed: unknown = JSON.parse(raw);
            if (
                typeof parsed === "object" &&
                parsed !== null &&
                !Array.isArray(parsed) &&
                (!stringValues || Object.values(parsed).every((v) => typeof v === "string"))
            ) {
                return parsed as Values;
            }
        } catch {
            // reported below
        }
        return this.bad(key, accepts, raw);
    }

    /** A value that must be stored as a Pulumi secret (`pulumi config set --secret`). Never quoted in messages. */
    secret(key: string, doc: string, accepts: string): string | undefined {
        const raw = this.declare(key, accepts, "none", doc, true);
        if (raw !== undefined && !this.secretKeys.has(key)) {
            this.problems.push(
                `${key} must be set as a secret so it is encrypted in the stack file and state: ` +
                    `\`pulumi config set --secret ${key} -- "$(cat file.pem)"\``,
            );
        }
        return raw;
    }

    /** Problems for keys of our namespace that no reader declared. */
    unknownKeys(): string[] {
        const known = new Set(this.specs.map((s) => s.key));
        return Object.keys(this.raw)
            .filter((k) => !known.has(k))
            .sort()
            .map((k) => {
                const near = [...known].find((c) => editDistance(c.toLowerCase(), k.toLowerCase()) <= 2);
                return (
                    `${CONFIG_NAMESPACE}:${k} is not a config key of this program` +
                    (near ? `; did you mean ${near}?` : "") +
                    " (see the config reference in README.md)"
                );
            });
    }
}

function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) {
        d[0][j] = j;
    }
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

/** Everything the program needs, typed and validated. */
export interface ProgramConfig {
    mesh: IstioMeshArgs;
    /** Override of the gateway pods' labels (Istio not installed by us, labels not derivable). */
    gatewaySelector?: Record<string, string>;
    /** Everything of {@link CanaryReleaseArgs} except where the gateway runs, which comes from the mesh. */
    release: Omit<CanaryReleaseArgs, "gateway">;
    /** How the release bot releases on this stack. */
    policy: ReleasePolicy;
    /** What the release bot last recorded. */
    state: ReleaseState;
    /** Non-blocking findings (e.g. a certificate that does not cover a host). */
    warnings: string[];
}

/** A PromQL check of the canary: passes when the value is within [min, max]. */
export interface CustomCheck {
    name: string;
    query: string;
    min?: number;
    max?: number;
}

/** What a check with no data (empty result or NaN) means. */
export const NO_DATA_POLICIES = ["fail", "hold", "pass"] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** Release policy: read by the release bot, validated by the program so a bad policy fails `pulumi preview`. */
export interface ReleasePolicy {
    /** Canary weights, increasing, ending at 100. */
    steps: number[];
    /** Wait between a shift and its analysis. */
    interval: string;
    /** Range of the rate() windows in the built-in queries. */
    metricWindow: string;
    /** Failed analyses before rollback. */
    failureThreshold: number;
    /** Minimum request success rate of the canary, in percent; undefined turns the check off. */
    minSuccessRate?: number;
    /** Maximum p99 latency of the canary, in milliseconds; undefined turns the check off. */
    maxLatencyMs?: number;
    /** Extra PromQL checks. */
    checks: CustomCheck[];
    noData: NoDataPolicy;
    /** Consecutive held analyses before no data counts as a failure. */
    holdLimit: number;
    /** Minimum requests the canary must have served in the metric window for its metrics to count as data. */
    minRequests: number;
    /** Consecutive analyses with query errors (or Prometheus down) before rollback. */
    errorLimit: number;
    /** Percentage of traffic mirrored to the canary in a phase before the first shift; 0 skips the phase. */
    mirrorPercent: number;
    /** Run a phase before the first shift where only requests with the canary header reach the canary. */
    headerPhase: boolean;
    prometheusUrl?: string;
    prometheusTimeout: string;
    prometheusUser?: string;
    /** Secret. */
    prometheusPassword?: string;
    /** Secret. */
    prometheusToken?: string;
}

/** Lifecycle of a release as the bot records it in stack config. */
export const RELEASE_STATUSES = ["idle", "in-progress", "completed", "rolled-back", "failed"] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Phases of a release in progress. */
export const RELEASE_PHASES = ["mirror", "header", "steps", "complete"] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];

/** What the release bot last recorded in stack config. */
export interface ReleaseState {
    status: ReleaseStatus;
    version?: string;
    image?: string;
    phase?: ReleasePhase;
    /** Why the last release ended as it did. */
    message?: string;
    /** What stable ran when the release started: a rollback puts it back. */
    previousImage?: string;
    previousVersion?: string;
}

const STEPS_ACCEPTS =
    'a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"';

/** Parses release steps; undefined when invalid. */
export function parseSteps(text: string): number[] | undefined {
    if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(text)) {
        return undefined;
    }
    const steps = text.split(",").map((x) => Number(x.trim()));
    const increasing = steps.every((w, i) => w >= 1 && w <= 100 && (i === 0 || w > steps[i - 1]));
    return increasing && steps.at(-1) === 100 ? steps : undefined;
}

function readRelease(r: Reader): { policy: ReleasePolicy; state: ReleaseState } {
    r.group = "Release policy";
    const stepsText = r.string("releaseSteps", "Canary weights the release bot steps through.", {
        accepts: STEPS_ACCEPTS,
        def: "10,25,50,100",
    });
    const steps = stepsText === undefined ? undefined : parseSteps(stepsText);
    if (stepsText !== undefined && steps === undefined) {
        r.problems.push(`releaseSteps must be ${STEPS_ACCEPTS}; got ${JSON.stringify(stepsText)}`);
    }
    const interval = r.duration("releaseInterval", "Wait between a shift and its analysis.", "1m");
    const metricWindow = r.duration("releaseMetricWindow", "Range of rate() in the built-in checks.", "1m");
    const failureThreshold = r.int("releaseFailureThreshold", "Failed analyses before the bot rolls back.", 1, 100, 1);
    const minSuccessRate = r.number(
        "releaseMinSuccessRate",
        "Minimum request success rate (non-5xx) of the canary, in percent; 0 turns the check off.",
        0,
        100,
        99,
    );
    const maxLatencyMs = r.int(
        "releaseMaxLatencyMs",
        "Maximum p99 request duration of the canary in ms; 0 turns the check off.",
        0,
        undefined,
        500,
    );
    const checksRaw = r.string("releaseChecks", 'Extra PromQL checks: JSON [{"name","query","min","max"}].', {
        accepts: 'a JSON array of {"name", "query", "min" and/or "max"}',
    });
    const noData = r.oneOf(
        "releaseNoData",
        "What a check without data (no traffic, NaN) means.",
        NO_DATA_POLICIES,
        "fail",
    );
    const holdLimit = r.int("releaseHoldLimit", "With releaseNoData=hold: analyses held before it fails.", 1, 100, 3);
    const minRequests = r.int(
        "releaseMinRequests",
        "Requests the canary must have served in the metric window for its metrics to count as data.",
        0,
        undefined,
        0,
    );
    const errorLimit = r.int(
        "releaseErrorLimit",
        "Consecutive analyses with query errors or Prometheus unreachable before the bot rolls back.",
        1,
        100,
        4,
    );
    const mirrorPercent = r.number(
        "releaseMirrorPercent",
        "Mirror this percentage of traffic to the canary in a phase before the first shift; 0 skips it.",
        0,
        100,
        0,
    );
    const headerPhase = r.bool(
        "releaseHeaderPhase",
        "Before the first shift, a phase where only requests with canaryHeader reach the canary.",
        false,
    );
    const prometheusUrl = r.string("prometheusUrl", "Prometheus the release bot queries.", {
        accepts: "an http(s):// URL",
        pattern: /^https?:\/\/[^\s]+$/,
    });
    const prometheusTimeout = r.duration("prometheusTimeout", "Timeout of each Prometheus query.", "10s");
    const prometheusUser = r.string("prometheusUser", "Basic-auth user for Prometheus (with prometheusPassword).");
    const prometheusPassword = r.secret("prometheusPassword", "Basic-auth password for Prometheus.", "a password");
    const prometheusToken = r.secret("prometheusToken", "Bearer token for Prometheus.", "a token");

    r.group = "Release state (written by the release bot)";
    const status = r.oneOf("releaseStatus", "Where the last release stands.", RELEASE_STATUSES, "idle");
    const version = r.string("releaseVersion", "Version of the release in progress or last released.", {
        accepts: VERSION_ACCEPTS,
    });
    const image = r.string("releaseImage", "Image of the release in progress or last released.", {
        accepts: IMAGE_ACCEPTS,
    });
    const phase = r.oneOf("releasePhase", "Phase of the release in progress.", RELEASE_PHASES, undefined);
    const message = r.string("releaseMessage", "Why the last release ended as it did.");
    const previousImage = r.string("releasePreviousImage", "Stable image when the release started (rollback target).", {
        accepts: IMAGE_ACCEPTS,
    });
    const previousVersion = r.string(
        "releasePreviousVersion",
        "Stable version when the release started (rollback target).",
        { accepts: VERSION_ACCEPTS },
    );

    const checks: CustomCheck[] = [];
    if (checksRaw !== undefined) {
        const bad = () =>
            r.problems.push(
                `releaseChecks must be a JSON array of {"name", "query", "min" and/or "max"}; got ${JSON.stringify(checksRaw)}`,
            );
        try {
            const parsed: unknown = JSON.parse(checksRaw);
            if (!Array.isArray(parsed) || !parsed.every(isCustomCheck)) {
                bad();
            } else {
                checks.push(...parsed);
            }
        } catch {
            bad();
        }
    }
    if (prometheusUser !== undefined && prometheusPassword === undefined) {
        r.problems.push("prometheusUser needs prometheusPassword (set it with --secret)");
    }
    return {
        policy: {
            steps: steps ?? [10, 25, 50, 100],
            interval: interval ?? "1m",
            metricWindow: metricWindow ?? "1m",
            failureThreshold,
            minSuccessRate: minSuccessRate > 0 ? minSuccessRate : undefined,
            maxLatencyMs: maxLatencyMs > 0 ? maxLatencyMs : undefined,
            checks,
            noData: noData ?? "fail",
            holdLimit,
            minRequests,
            errorLimit,
            mirrorPercent,
            headerPhase,
            prometheusUrl,
            prometheusTimeout: prometheusTimeout ?? "10s",
            prometheusUser,
            prometheusPassword,
            prometheusToken,
        },
        state: { status: status ?? "idle", version, image, phase, message, previousImage, previousVersion },
    };
}

function isCustomCheck(x: unknown): x is CustomCheck {
    if (typeof x !== "object" || x === null) {
        return false;
    }
    const c = x as Record<string, unknown>;
    const num = (v: unknown) => v === undefined || (typeof v === "number" && Number.isFinite(v));
    return (
        typeof c.name === "string" &&
        /^[a-z0-9][-a-z0-9]*$/.test(c.name) &&
        typeof c.query === "string" &&
        c.query.trim() !== "" &&
        num(c.min) &&
        num(c.max) &&
        (c.min !== undefined || c.max !== undefined)
    );
}

/**
 * Only the release policy and state, for the release bot: other keys are neither required nor checked.
 * Throws a {@link ConfigError} listing the policy's problems.
 */
export function parseReleaseConfig(
    raw: Record<string, string>,
    secretKeys: ReadonlySet<string> = new Set(),
): { policy: ReleasePolicy; state: ReleaseState } {
    const r = new Reader(raw, secretKeys);
    const result = readRelease(r);
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return result;
}

function readAll(r: Reader) {
    r.group = "Application";
    const app = r.required(
        "app",
        "Application name: names the Service and the Deployments <app>-stable and <app>-canary.",
        DNS_LABEL_ACCEPTS,
    );
    const namespace = r.string("namespace", "Namespace of the application.", {
        accepts: DNS_LABEL_ACCEPTS,
        shown: "the app name",
    });
    const createNamespace = r.bool(
        "createNamespace",
        "Create the namespace with injection and Pod Security labels; false uses an existing one.",
        true,
    );
    const podSecurityEnforce = r.oneOf(
        "podSecurityEnforce",
        'Pod Security level enforced on the namespace ("restricted" needs Istio CNI or no sidecar injection).',
        POD_SECURITY_LEVELS,
        "privileged",
    );
    const stableImage = r.required("stableImage", "Image of the stable track.", IMAGE_ACCEPTS);
    const stableVersion = r.required(
        "stableVersion",
        "Version of the stable track (its pods' `version` label).",
        VERSION_ACCEPTS,
    );
    const canaryImage = r.string("canaryImage", "Image of the canary track; unset when no release is in progress.", {
        accepts: IMAGE_ACCEPTS,
    });
    const canaryVersion = r.string("canaryVersion", "Version of the canary track; set together with canaryImage.", {
        accepts: VERSION_ACCEPTS,
    });
    const replicas = r.int(
        "replicas",
        "Replicas of the stable Deployment (kept through a release, so a rollback has full capacity).",
        1,
        undefined,
        2,
    );
    const canaryReplicas = r.int(
        "canaryReplicas",
        "Canary replicas, or their floor with canaryScaling. 0 only while no route reaches the canary.",
        0,
        undefined,
        1,
    );
    const canaryScaling = r.bool(
        "canaryScaling",
        "Scale the canary with its weight: ceil(replicas x weight / 100).",
        false,
    );
    const containerPort = r.int("containerPort", "Port the container listens on.", 1, 65535, 8080);
    const servicePort = r.int("servicePort", "Port of the Service.", 1, 65535, 80);
    const protocol = r.oneOf(
        "protocol",
        "Application protocol; names the Service port for Istio's protocol selection.",
        APP_PROTOCOLS,
        "http",
    );
    const env = r.object("env", "Container environment variables.", true) as Record<string, string> | undefined;
    const probePath = r.string("probePath", "HTTP path of the readiness and liveness probes.", {
        def: "/",
        pattern: /^\//,
        accepts: 'a path starting with "/"',
    });
    const quantity = {
        accepts: 'a Kubernetes quantity such as "100m" or "128Mi"',
        pattern: /^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/,
    };
    const cpuRequest = r.string("cpuRequest", "CPU request of the container.", { ...quantity, def: "100m" });
    const memoryRequest = r.string("memoryRequest", "Memory request of the container.", { ...quantity, def: "128Mi" });
    const cpuLimit = r.string("cpuLimit", "CPU limit of the container.", { ...quantity, def: "500m" });
    const memoryLimit = r.string("memoryLimit", "Memory limit of the container.", { ...quantity, def: "256Mi" });
    const rolloutTimeoutSeconds = r.int(
        "rolloutTimeoutSeconds",
        "How long `pulumi up` waits for a Deployment rollout before failing it (a canary that never gets ready).",
        30,
        undefined,
        600,
    );
    const runAsUser = r.int("runAsUser", "Non-root UID the container runs as.", 1, undefined, 65532);

    r.group = "Traffic";
    const canaryWeight = r.int(
        "canaryWeight",
        "Percentage of the default route sent to the canary. `pulumi config set canaryWeight 50 && pulumi up` shifts traffic.",
        0,
        100,
        0,
    );
    const hosts = r.list("hosts", "External hosts served by the Gateway and VirtualService.", true);
    const canaryHeader = r.string(
        "canaryHeader",
        "Requests carrying this header (with canaryHeaderValue) go to the canary.",
        { accepts: 'an HTTP header name such as "x-canary"' },
    );
    const canaryHeaderValue = r.string("canaryHeaderValue", "Exact value canaryHeader must have.", { def: "true" });
    const canaryCookie = r.string("canaryCookie", "Requests carrying this cookie go to the canary.", {
        accepts: 'name=value, such as "version=v2"',
        pattern: /^[^=;\s]+=[^;\s]*$/,
    });
    const mirrorPercent = r.number(
        "mirrorPercent",
        "Percentage of default-route requests mirrored (copied) to the canary; 0 is off.",
        0,
        100,
        0,
    );
    const timeout = r.duration("timeout", "Request timeout of every route.");
    const retryAttempts = r.optionalInt("retryAttempts", "Retry attempts of every route.", 0, 100);
    const perTryTimeout = r.duration("perTryTimeout", "Timeout of each retry attempt (needs retryAttempts).");
    const retryOn = r.string(
        "retryOn",
        'Envoy retry conditions, e.g. "5xx,reset,connect-failure" (needs retryAttempts).',
    );
    const maxConnections = r.optionalInt(
        "maxConnections",
        "DestinationRule connection pool: maximum TCP connections per host.",
        1,
    );
    const maxPendingRequests = r.optionalInt(
        "maxPendingRequests",
        "DestinationRule connection pool: maximum pending HTTP/1.1 requests.",
        1,
    );
    const outlier5xx = r.optionalInt(
        "outlierConsecutive5xxErrors",
        "Outlier detection: consecutive 5xx responses that eject a pod; unset turns it off.",
        1,
    );
    const outlierInterval = r.duration("outlierInterval", "Outlier detection: analysis interval.", "10s");
    const outlierEjection = r.duration("outlierBaseEjectionTime", "Outlier detection: minimum ejection time.", "30s");

    r.group = "TLS";
    const tlsCert = r.secret(
        "tlsCert",
        "Gateway certificate (PEM); stored in a kubernetes.io/tls Secret in the gateway namespace.",
        "a PEM certificate",
    );
    const tlsKey = r.secret("tlsKey", "Private key of tlsCert (PEM).", "a PEM private key");
    const tlsSecretName = r.string(
        "tlsSecretName",
        "Use this existing kubernetes.io/tls Secret in the gateway namespace instead of tlsCert/tlsKey.",
        { accepts: "a DNS-1123 name", pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/ },
    );
    const tlsMinVersion = r.oneOf(
        "tlsMinVersion",
        "Minimum TLS version of the HTTPS server.",
        TLS_MIN_VERSIONS,
        "TLSV1_2",
    );
    const httpsRedirect = r.bool("httpsRedirect", "Serve HTTP on port 80 only to redirect to HTTPS.", true);

    r.group = "Istio";
    const istioInstall = r.bool(
        "istioInstall",
        "Install Istio with Helm (base, istiod, gateway). false where Istio already runs.",
        true,
    );
    const istioVersion = r.string(
        "istioVersion",
        'Chart version of Istio\'s charts, e.g. "1.28.0" (required with a chart repository).',
    );
    const istioChartRepository = r.string("istioChartRepository", "Helm repository of Istio's charts.", {
        def: "https://istio-release.storage.googleapis.com/charts",
        pattern: /^(https?|oci):\/\//,
        accepts: "an http(s):// or oci:// URL",
    });
    const istioChartDir = r.path(
        "istioChartDir",
        "Local directory with the base, istiod and gateway charts, used instead of the repository.",
    );
    const istioNamespace = r.string("istioNamespace", "Namespace of istiod.", { def: "istio-system" });
    const istioRevision = r.string(
        "istioRevision",
        "Istio revision; the app namespace is labelled istio.io/rev=<rev> instead of istio-injection=enabled.",
    );
    const gatewayName = r.string(
        "gatewayName",
        "Helm release name of the ingress gateway (its pods' labels follow it).",
        { def: "istio-ingressgateway" },
    );
    const gatewayNamespace = r.string("gatewayNamespace", "Namespace of the ingress gateway (and of the TLS secret).", {
        def: "istio-ingress",
    });
    const gatewayServiceType = r.oneOf(
        "gatewayServiceType",
        "Service type of the ingress gateway (ClusterIP on local clusters).",
        GATEWAY_SERVICE_TYPES,
        "LoadBalancer",
    );
    const gatewaySelectorOverride = r.object(
        "gatewaySelector",
        "Labels of the gateway pods, when they cannot be derived from gatewayName (Istio installed by others).",
        true,
    ) as Record<string, string> | undefined;
    const istioBaseValues = r.object("istioBaseValues", "Extra values for the base chart.");
    const istiodValues = r.object("istiodValues", "Extra values for the istiod chart.");
    const gatewayValues = r.object("gatewayValues", "Extra values for the gateway chart.");

    const { policy, state } = readRelease(r);

    return {
        policy,
        state,
        app,
        namespace,
        createNamespace,
        podSecurityEnforce,
        stableImage,
        stableVersion,
        canaryImage,
        canaryVersion,
        replicas,
        canaryReplicas,
        canaryScaling,
        containerPort,
        servicePort,
        protocol,
        env,
        probePath,
        cpuRequest,
        memoryRequest,
        cpuLimit,
        memoryLimit,
        runAsUser,
        rolloutTimeoutSeconds,
        canaryWeight,
        hosts,
        canaryHeader,
        canaryHeaderValue,
        canaryCookie,
        mirrorPercent,
        timeout,
        retryAttempts,
        perTryTimeout,
        retryOn,
        maxConnections,
        maxPendingRequests,
        outlier5xx,
        outlierInterval,
        outlierEjection,
        tlsCert,
        tlsKey,
        tlsSecretName,
        tlsMinVersion,
        httpsRedirect,
        istioInstall,
        istioVersion,
        istioChartRepository,
        istioChartDir,
        istioNamespace,
        istioRevision,
        gatewayName,
        gatewayNamespace,
        gatewayServiceType,
        gatewaySelectorOverride,
        istioBaseValues,
        istiodValues,
        gatewayValues,
    };
}

/** Strips the `istio-canary:` namespace; keys of other namespaces (kubernetes:, pulumi:) are not ours. */
export function ownKeys(all: Record<string, string>): Record<string, string> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) {
        if (k.startsWith(prefix)) {
            out[k.slice(prefix.length)] = v;
        }
    }
    return out;
}

/**
 * Parses and validates the stack config. `raw` holds our keys without the namespace (see {@link ownKeys});
 * `secretKeys` the ones set with `--secret`. Throws a {@link ConfigError} listing every problem.
 */
export function parseConfig(raw: Record<string, string>, secretKeys: ReadonlySet<string> = new Set()): ProgramConfig {
    const r = new Reader(raw, secretKeys);
    const c = readAll(r);
    const problems = [...r.problems, ...r.unknownKeys()];
    const warnings: string[] = [];

    if ((c.canaryImage === undefined) !== (c.canaryVersion === undefined)) {
        problems.push(
            "canaryImage and canaryVersion must be set together (both for a release in progress, neither otherwise)",
        );
    }
    let tls: TlsArgs | undefined;
    if (c.tlsSecretName !== undefined) {
        if (c.tlsCert !== undefined || c.tlsKey !== undefined) {
            problems.push("set either tlsSecretName or tlsCert and tlsKey, not both");
        }
        tls = { secretName: c.tlsSecretName };
    } else if (c.tlsCert !== undefined && c.tlsKey !== undefined) {
        const check = checkTlsPair(c.tlsCert, c.tlsKey, c.hosts ?? []);
        problems.push(...check.problems);
        warnings.push(...check.warnings);
        tls = { cert: c.tlsCert, key: c.tlsKey };
    } else {
        problems.push(
            "TLS is required: set tlsCert and tlsKey (PEM, as secrets) or tlsSecretName (an existing kubernetes.io/tls Secret in the gateway namespace)",
        );
    }
    if ((c.perTryTimeout !== undefined || c.retryOn !== undefined) && c.retryAttempts === undefined) {
        problems.push("perTryTimeout and retryOn need retryAttempts (an integer from 0 to 100)");
    }

    const mesh: IstioMeshArgs = {
        install: c.istioInstall,
        version: c.istioVersion,
        repository: c.istioChartRepository,
        chartDir: c.istioChartDir,
        namespace: c.istioNamespace,
        revision: c.istioRevision,
        gatewayName: c.gatewayName,
        gatewayNamespace: c.gatewayNamespace,
        gatewayServiceType: c.gatewayServiceType,
        baseValues: c.istioBaseValues,
        istiodValues: c.istiodValues,
        gatewayValues: c.gatewayValues,
    };
    const release: Omit<CanaryReleaseArgs, "gateway"> = {
        app: c.app ?? "",
        namespace: c.namespace,
        createNamespace: c.createNamespace,
        istioRevision: c.istioRevision,
        podSecurityEnforce: c.podSecurityEnforce,
        stable: { image: c.stableImage ?? "", version: c.stableVersion ?? "" },
        canary:
            c.canaryImage !== undefined && c.canaryVersion !== undefined
                ? { image: c.canaryImage, version: c.canaryVersion }
                : undefined,
        canaryWeight: c.canaryWeight,
        replicas: c.replicas,
        canaryReplicas: c.canaryReplicas,
        canaryScaling: c.canaryScaling,
        containerPort: c.containerPort,
        servicePort: c.servicePort,
        protocol: c.protocol,
        env: c.env,
        probePath: c.probePath,
        resources: {
            cpuRequest: c.cpuRequest,
            memoryRequest: c.memoryRequest,
            cpuLimit: c.cpuLimit,
            memoryLimit: c.memoryLimit,
        },
        runAsUser: c.runAsUser,
        rolloutTimeoutSeconds: c.rolloutTimeoutSeconds,
        hosts: c.hosts ?? [],
        tls: tls ?? { secretName: "" },
        tlsMinVersion: c.tlsMinVersion,
        httpsRedirect: c.httpsRedirect,
        canaryHeader:
            c.canaryHeader !== undefined ? { name: c.canaryHeader, value: c.canaryHeaderValue ?? "true" } : undefined,
        canaryCookie: c.canaryCookie !== undefined ? splitCookie(c.canaryCookie) : undefined,
        // The release bot's mirror phase mirrors releaseMirrorPercent; otherwise the user's mirrorPercent.
        mirrorPercent:
            c.state.status === "in-progress" && c.state.phase === "mirror" ? c.policy.mirrorPercent : c.mirrorPercent,
        timeout: c.timeout,
        retries:
            c.retryAttempts !== undefined
                ? { attempts: c.retryAttempts, perTryTimeout: c.perTryTimeout, retryOn: c.retryOn }
                : undefined,
        connectionPool:
            c.maxConnections !== undefined || c.maxPendingRequests !== undefined
                ? {
                      ...(c.maxConnections !== undefined ? { tcp: { maxConnections: c.maxConnections } } : {}),
                      ...(c.maxPendingRequests !== undefined
                          ? { http: { http1MaxPendingRequests: c.maxPendingRequests } }
                          : {}),
                  }
                : undefined,
        outlierDetection:
            c.outlier5xx !== undefined
                ? {
                      consecutive5xxErrors: c.outlier5xx,
                      interval: c.outlierInterval ?? "10s",
                      baseEjectionTime: c.outlierEjection ?? "30s",
                  }
                : undefined,
    };

    // Semantic rules shared with the components (library users get the same checks). Only run them on keys that
    // parsed, so one bad value is reported once.
    if (problems.length === 0) {
        problems.push(...validateIstioMeshArgs(mesh));
        problems.push(...validateCanaryReleaseArgs({ ...release, gateway: { namespace: "", selector: {} } }));
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return { mesh, gatewaySelector: c.gatewaySelectorOverride, release, policy: c.policy, state: c.state, warnings };
}

function splitCookie(text: string): { name: string; value: string } {
    const i = text.indexOf("=");
    return { name: text.slice(0, i), value: text.slice(i + 1) };
}

/** The documented keys, in declaration order (README config reference). */
export function configKeySpecs(): KeySpec[] {
    const r = new Reader({}, new Set());
    readAll(r);
    return r.specs;
}

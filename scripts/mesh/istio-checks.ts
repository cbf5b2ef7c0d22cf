/**
 * What Istio itself says about the live cluster: `istioctl analyze` (with the few findings this cluster cannot
 * avoid, each explained), and the loopback guard (scripts/cluster/guard.sh). The e2e suite runs both after every
 * `up` (tests/e2e/harness.ts).
 */
import { execFile } from "child_process";
import * as path from "path";
import { requiredEnv } from "./kube";

/** One finding of `istioctl analyze -o json`. */
export interface AnalyzerMessage {
    code: string;
    level: "Error" | "Warning" | "Info";
    origin: string;
    message: string;
}

/** A finding that is expected on this cluster, and why. */
export interface AnalyzeException {
    code: string;
    origin: RegExp;
    why: string;
}

/**
 * Findings that are expected on this cluster, and why. Nothing else may appear at Warning or Error level. Info
 * findings are reported but never fail. With sidecar injection on (MutatingAdmissionWebhook, the injector on
 * loopback), the app's pods carry istio-proxy (no IST0103, "missing the Istio proxy") and the gateway chart's
 * `image: auto` is replaced by the gateway template (no IST0147), as on a real cluster. One remains: autoscaling's
 * empty canary subset between releases.
 */
export const ANALYZE_EXCEPTIONS: AnalyzeException[] = [
    {
        code: "IST0173",
        origin: /^DestinationRule shop-autoscaling\/shop$/,
        why:
            '"The Subset canary ... does not select any pods": with autoscaling (tests/e2e/11), the canary track has ' +
            "no pods between releases by design; its route weighs 0 and no header, cookie or mirror route exists",
    },
];

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

/** Namespaces every installation shares (Istio's own): their findings always count. */
export const SHARED_NAMESPACES = ["istio-system", "istio-ingress"];

/** The namespace of a finding's origin ("VirtualService shop/shop" -> "shop"); undefined for cluster-scoped ones. */
export function originNamespace(origin: string): string | undefined {
    const m = /^\S+ ([^/\s]+)\/\S+/.exec(origin);
    return m?.[1];
}

/**
 * Runs `istioctl analyze --all-namespaces -o json` on the live cluster and splits its findings into the expected
 * ones ({@link ANALYZE_EXCEPTIONS}) and the rest (Warning or Error level). Throws if istioctl cannot analyze.
 * With `namespaces`, findings on objects of other namespaces are left out (suites running side by side each judge
 * their own objects; Istio's namespaces and cluster-scoped objects always count).
 */
export async function istioctlAnalyze(namespaces?: readonly string[]): Promise<{
    unexpected: AnalyzerMessage[];
    expected: AnalyzerMessage[];
    info: AnalyzerMessage[];
}> {
    const istioctl = requiredEnv("ISTIOCTL", "start the cluster with scripts/cluster/up.sh (it builds istioctl)");
    const r = await run(istioctl, [
        "analyze",
        "--all-namespaces",
        "--output",
        "json",
        "--kubeconfig",
        requiredEnv("KUBECONFIG"),
    ]);
    // Exit codes: 0 clean, 79 (warnings) and 3 (errors) with findings; anything else is a failure to analyze.
    if (![0, 3, 79].includes(r.code) || !r.stdout.trim().startsWith("[")) {
        throw new Error(`istioctl analyze failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return judgeFindings(JSON.parse(r.stdout) as AnalyzerMessage[], namespaces);
}

/** What analysis findings mean for a suite: see {@link istioctlAnalyze}. */
export function judgeFindings(
    findings: AnalyzerMessage[],
    namespaces?: readonly string[],
    exceptions: readonly AnalyzeException[] = ANALYZE_EXCEPTIONS,
): { unexpected: AnalyzerMessage[]; expected: AnalyzerMessage[]; info: AnalyzerMessage[] } {
    const mine = (m: AnalyzerMessage) => {
        const ns = originNamespace(m.origin);
        return namespaces === undefined || ns === undefined || [...SHARED_NAMESPACES, ...namespaces].includes(ns);
    };
    const all = findings.filter(mine);
    const info = all.filter((m) => m.level === "Info");
    const rest = all.filter((m) => m.level !== "Info");
    const isExpected = (m: AnalyzerMessage) => exceptions.some((e) => e.code === m.code && e.origin.test(m.origin));
    return { unexpected: rest.filter((m) => !isExpected(m)), expected: rest.filter(isExpected), info };
}

/** Runs scripts/cluster/guard.sh; throws with its output when it fails. */
export async function loopbackGuard(): Promise<string> {
    const guard = path.join(__dirname, "..", "cluster", "guard.sh");
    const r = await run(guard, []);
    if (r.code !== 0) {
        throw new Error(`the loopback guard failed:\n${r.stderr}${r.stdout}`);
    }
    return r.stderr.trim();
}

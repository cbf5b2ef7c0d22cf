/**
 * Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/): the namespace
 * labels that enforce a level, and the chart values that let Istio's own pods meet "restricted".
 *
 * Pure: tested without mocks. The components put these labels on the namespaces they create.
 */
import { PodSecurityLevel } from "./canary-release-args";

/** The level every namespace warns and audits at, whatever it enforces: the one to grow into. */
export const POD_SECURITY_GOAL: PodSecurityLevel = "restricted";

/** Labels of a namespace that enforces `enforce`, and warns and audits at "restricted". */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/warn": POD_SECURITY_GOAL,
        "pod-security.kubernetes.io/audit": POD_SECURITY_GOAL,
    };
}

/** Labels of an application namespace: sidecar injection (a revision's, or the default one) and Pod Security. */
export function appNamespaceLabels(enforce: PodSecurityLevel, istioRevision?: string): Record<string, string> {
    return {
        ...(istioRevision !== undefined ? { "istio.io/rev": istioRevision } : { "istio-injection": "enabled" }),
        ...podSecurityLabels(enforce),
    };
}

/** The seccomp profile "restricted" asks of every container (set here at the pod level or on the container). */
export const RUNTIME_DEFAULT_SECCOMP = { type: "RuntimeDefault" } as const;

/**
 * The only sysctl the gateway chart sets on its pods (so the proxy may bind ports 80 and 443 without
 * NET_BIND_SERVICE). Kubernetes counts it as safe: "baseline" and "restricted" allow it.
 */
export const UNPRIVILEGED_PORTS_SYSCTL = { name: "net.ipv4.ip_unprivileged_port_start", value: "0" } as const;

/**
 * Values that make the pods of Istio's istiod chart meet "restricted". Its `discovery` container already drops
 * every capability, refuses privilege escalation, runs as non-root with a read-only root filesystem and mounts
 * only emptyDir, projected, Secret and ConfigMap volumes; the chart leaves its seccomp profile unset
 * (`seccompProfile: {}`), which "restricted" refuses.
 */
export function istiodPodSecurityValues(): Record<string, unknown> {
    return { seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP } };
}

/**
 * Values that make the pods of Istio's gateway chart meet "restricted". The chart's `istio-proxy` container drops
 * every capability and runs as non-root without privilege escalation; its pod security context is only the safe
 * sysctl, unless the `securityContext` value replaces it: this one keeps the sysctl and adds the seccomp profile.
 * Sidecar injection (the chart's `image: auto`) overlays the gateway template on the pod, which keeps both and
 * adds the proxy's non-root user (1337).
 */
export function gatewayPodSecurityValues(): Record<string, unknown> {
    return {
        securityContext: {
            sysctls: [{ ...UNPRIVILEGED_PORTS_SYSCTL }],
            seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP },
        },
    };
}

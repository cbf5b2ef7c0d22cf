/**
 * The Kubernetes Pod Security Standards' "baseline" and "restricted" levels as checks on a pod spec, written from
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version "latest"), so tests can say
 * which level a rendered pod meets. The local cluster's PodSecurity admission checks the same for real (e2e).
 */

/** Untyped pod specs as the components render them (or as a chart template renders them). */
type Spec = Record<string, any>;

const BASELINE_CAPABILITIES = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
const SAFE_SYSCTLS = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const RESTRICTED_VOLUMES = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

function containers(pod: Spec): Spec[] {
    return [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
}

/** What keeps `pod` from the "baseline" level; empty when it meets it. */
export function baselineViolations(pod: Spec): string[] {
    const out: string[] = [];
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (pod[f] === true) {
            out.push(`${f} is true`);
        }
    }
    for (const v of pod.volumes ?? []) {
        if (v.hostPath !== undefined) {
            out.push(`volume ${v.name} is a hostPath`);
        }
    }
    for (const s of pod.securityContext?.sysctls ?? []) {
        if (!SAFE_SYSCTLS.includes(s.name)) {
            out.push(`sysctl ${s.name} is not a safe one`);
        }
    }
    if (pod.securityContext?.seccompProfile?.type === "Unconfined") {
        out.push("the pod's seccomp profile is Unconfined");
    }
    for (const c of containers(pod)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) {
            out.push(`container ${c.name} is privileged`);
        }
        for (const cap of sc.capabilities?.add ?? []) {
            if (!BASELINE_CAPABILITIES.includes(cap)) {
                out.push(`container ${c.name} adds capability ${cap}`);
            }
        }
        for (const p of c.ports ?? []) {
            if (p.hostPort !== undefined && p.hostPort !== 0) {
                out.push(`container ${c.name} uses host port ${p.hostPort}`);
            }
        }
        if (sc.procMount !== undefined && sc.procMount !== "Default") {
            out.push(`container ${c.name} has procMount ${sc.procMount}`);
        }
        if (sc.seccompProfile?.type === "Unconfined") {
            out.push(`container ${c.name}'s seccomp profile is Unconfined`);
        }
    }
    return out;
}

/** What keeps `pod` from the "restricted" level (baseline included); empty when it meets it. */
export function restrictedViolations(pod: Spec): string[] {
    const out = baselineViolations(pod);
    for (const v of pod.volumes ?? []) {
        if (!Object.keys(v).some((k) => RESTRICTED_VOLUMES.includes(k))) {
            out.push(`volume ${v.name} is of a type restricted does not allow`);
        }
    }
    const podSc = pod.securityContext ?? {};
    if (podSc.runAsUser === 0) {
        out.push("the pod runs as user 0");
    }
    for (const c of containers(pod)) {
        const sc = c.securityContext ?? {};
        if (sc.allowPrivilegeEscalation !== false) {
            out.push(`container ${c.name} does not set allowPrivilegeEscalation false`);
        }
        if (sc.runAsNonRoot !== true && !(podSc.runAsNonRoot === true && sc.runAsNonRoot === undefined)) {
            out.push(`container ${c.name} does not run as non-root (runAsNonRoot)`);
        }
        if (sc.runAsUser === 0) {
            out.push(`container ${c.name} runs as user 0`);
        }
        const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
            out.push(`container ${c.name} has no RuntimeDefault or Localhost seccomp profile`);
        }
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
            out.push(`container ${c.name} does not drop ALL capabilities`);
        }
        for (const cap of sc.capabilities?.add ?? []) {
            if (cap !== "NET_BIND_SERVICE") {
                out.push(`container ${c.name} adds capability ${cap} (restricted allows only NET_BIND_SERVICE)`);
            }
        }
    }
    return out;
}

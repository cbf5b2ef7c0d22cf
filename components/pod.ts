/**
 * Small typed helpers for pod specs. They keep the one good idea of @pulumi/kubernetesx (compact maps for ports
 * and environment variables) without its PodBuilder, which forces pod labels to `{app: ...}` and so cannot carry
 * the `track` and `version` labels canary routing needs.
 */
import type * as k8s from "@pulumi/kubernetes";

type ContainerPort = k8s.types.input.core.v1.ContainerPort;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** `{http: 8080}` -> `[{name: "http", containerPort: 8080, protocol: "TCP"}]`, sorted by name. */
export function containerPorts(ports: Record<string, number>): ContainerPort[] {
    return Object.keys(ports)
        .sort()
        .map((name) => ({ name, containerPort: ports[name], protocol: "TCP" }));
}

/** `{LOG_LEVEL: "info"}` -> `[{name: "LOG_LEVEL", value: "info"}]`, sorted by name so the spec is deterministic. */
export function envVars(env: Record<string, string>): EnvVar[] {
    return Object.keys(env)
        .sort()
        .map((name) => ({ name, value: env[name] }));
}

/** A container security context that passes the Kubernetes "restricted" Pod Security level. */
export function restrictedContainerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** The pod-level security context that goes with {@link restrictedContainerSecurityContext}. */
export function restrictedPodSecurityContext(runAsUser: number): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser,
        runAsGroup: runAsUser,
        fsGroup: runAsUser,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

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

/** The writable directory a read-only root filesystem leaves a container: an emptyDir mounted at /tmp. */
export const TMP_VOLUME = { name: "tmp", mountPath: "/tmp" } as const;

/** The pod's volumes and the container's mounts for {@link TMP_VOLUME} (none when `on` is false). */
export function tmpVolume(on: boolean): {
    volumes: k8s.types.input.core.v1.Volume[];
    volumeMounts: k8s.types.input.core.v1.VolumeMount[];
} {
    return on
        ? { volumes: [{ name: TMP_VOLUME.name, emptyDir: {} }], volumeMounts: [{ ...TMP_VOLUME }] }
        : { volumes: [], volumeMounts: [] };
}

/** Quantities of a container's resources; ephemeral storage only where given. */
export interface ContainerQuantities {
    cpuRequest: string;
    memoryRequest: string;
    cpuLimit: string;
    memoryLimit: string;
    ephemeralStorageRequest?: string;
    ephemeralStorageLimit?: string;
}

/** A container's requests and limits: CPU, memory and, when given, ephemeral storage (/tmp, logs, writable layer). */
export function containerResources(q: ContainerQuantities): {
    requests: Record<string, string>;
    limits: Record<string, string>;
} {
    const storage = (quantity: string | undefined): Record<string, string> =>
        quantity !== undefined ? { "ephemeral-storage": quantity } : {};
    return {
        requests: { cpu: q.cpuRequest, memory: q.memoryRequest, ...storage(q.ephemeralStorageRequest) },
        limits: { cpu: q.cpuLimit, memory: q.memoryLimit, ...storage(q.ephemeralStorageLimit) },
    };
}

/**
 * Workload policies: a subset that receives traffic has ready replicas, images are pinned, and no secret sits in
 * plain configuration (ConfigMap data, literal container env values).
 */
import { at, isObject, objectName, podContainers, Props, StackResource, UNKNOWN } from "./kube";
import { resourcePolicy, ResourceUnderTest, stackPolicy } from "./policy";
import { parseUrn } from "./release";
import { resolveSubset, routedSubsets } from "./topology";

export interface ReadyReplicasConfig {
    /** Ready replicas a Deployment needs while any route (weighted, matched or mirrored) reaches its subset. */
    minReadyReplicas: number;
}

/**
 * Replicas a Deployment will have ready: its ready count once it has a status (after an update), else its desired
 * count (a preview, where the update awaits the rollout before any route moves).
 */
export function readyReplicas(props: Props): { count: number; observed: boolean } | undefined {
    const status = props.status;
    if (isObject(status) && typeof status.observedGeneration === "number") {
        // Kubernetes leaves readyReplicas out when it is 0.
        return { count: typeof status.readyReplicas === "number" ? status.readyReplicas : 0, observed: true };
    }
    const desired = at(props, "spec", "replicas");
    if (desired === UNKNOWN) {
        return undefined;
    }
    return { count: typeof desired === "number" ? desired : 1, observed: false };
}

/** Subsets that receive traffic while a Deployment they select has too few ready replicas. */
export function readyReplicaViolations(
    resources: StackResource[],
    config: ReadyReplicasConfig,
): { message: string; urn: string }[] {
    const out: { message: string; urn: string }[] = [];
    const seen = new Set<string>();
    for (const routed of routedSubsets(resources).filter((r) => r.share > 0)) {
        for (const d of resolveSubset(resources, routed.host, routed.subset).deployments) {
            const ready = readyReplicas(d.props);
            const key = `${routed.virtualService.urn} ${d.urn}`;
            if (ready === undefined || ready.count >= config.minReadyReplicas || seen.has(key)) {
                continue;
            }
            seen.add(key);
            const how = routed.mirror ? "mirrors" : "sends";
            out.push({
                urn: routed.virtualService.urn,
                message:
                    `VirtualService ${objectName(routed.virtualService.props)} ${how} ${routed.share}% of route ${routed.route.label} ` +
                    `to subset "${routed.subset}", but Deployment ${objectName(d.props)} has ${ready.count} ` +
                    `${ready.observed ? "ready " : ""}replica${ready.count === 1 ? "" : "s"}; ` +
                    `a subset needs at least ${config.minReadyReplicas} ready whenever a route reaches it`,
            });
        }
    }
    return out;
}

export const readyReplicasPolicy = stackPolicy<ReadyReplicasConfig>({
    name: "canary-ready-replicas",
    description:
        "Whenever a route reaches a subset (the canary's included: by weight, header, cookie or mirror), the Deployment it selects has ready replicas.",
    defaults: { minReadyReplicas: 1 },
    schema: {
        minReadyReplicas: {
            type: "integer",
            minimum: 1,
            description: "Ready replicas a Deployment needs while a route reaches its subset.",
        },
    },
    check: readyReplicaViolations,
});

export interface ImagesConfig {
    /** Images must be pinned by digest (`@sha256:...`), not only by tag, on every stack. */
    requireDigest: boolean;
    /** Stacks whose images must be pinned by digest (production), whatever `requireDigest` says. */
    digestStacks: string[];
    /** Tags that never pin a version. */
    forbiddenTags: string[];
}

/** The tag and digest of an image reference. */
export function parseImage(image: string): { tag?: string; digest?: string } {
    const at = image.indexOf("@");
    const digest = at >= 0 ? image.slice(at + 1) : undefined;
    const name = at >= 0 ? image.slice(0, at) : image;
    const colon = name.lastIndexOf(":");
    const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
    return { ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Containers of a workload whose images are not pinned. */
export function imageViolations(r: ResourceUnderTest, config: ImagesConfig): string[] {
    const out: string[] = [];
    for (const c of podContainers(r.type, r.props) ?? []) {
        if (typeof c.image !== "string" || c.image === UNKNOWN) {
            continue; // not known yet (a preview): judged when it is
        }
        const { tag, digest } = parseImage(c.image);
        const where = `container "${c.name}" of ${r.type.split(":").pop()} ${objectName(r.props)}`;
        if (digest === undefined && (tag === undefined || config.forbiddenTags.includes(tag))) {
            out.push(
                `${where} runs image "${c.image}", which ${tag === undefined ? "has no tag (so means :latest)" : `is tagged :${tag}`}; pin a version tag or a digest`,
            );
        } else if (digest === undefined || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
            const stack = config.digestStacks.length > 0 ? parseUrn(r.urn).stack : undefined;
            if (stack !== undefined && config.digestStacks.includes(stack)) {
                out.push(
                    `${where} runs image "${c.image}"; on stack ${stack} images must be pinned by digest (image@sha256:...)`,
                );
            } else if (config.requireDigest) {
                out.push(`${where} runs image "${c.image}"; pin it by digest (image@sha256:...)`);
            }
        }
    }
    return out;
}

export const imagesPinned = resourcePolicy<ImagesConfig>({
    name: "images-pinned",
    description:
        "Workload images are pinned: never :latest or untagged, and by digest where configured (every stack, or the listed ones).",
    defaults: { requireDigest: false, digestStacks: [], forbiddenTags: ["latest"] },
    schema: {
        requireDigest: {
            type: "boolean",
            description: "Images must be pinned by digest (image@sha256:...) on every stack.",
        },
        digestStacks: {
            type: "array",
            items: { type: "string" },
            description: "Stacks (production) whose images must be pinned by digest (image@sha256:...).",
        },
        forbiddenTags: { type: "array", items: { type: "string" }, description: "Tags that never pin a version." },
    },
    check: imageViolations,
});

export interface PlainSecretsConfig {
    /** Names (of ConfigMap keys and env variables) that hold secrets; a case-insensitive regular expression. */
    secretNamePattern: string;
}

const PRIVATE_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/;

/** Secrets in plain configuration: ConfigMap data and literal env values of containers. */
export function plainSecretViolations(r: ResourceUnderTest, config: PlainSecretsConfig): string[] {
    const secretName = new RegExp(config.secretNamePattern, "i");
    const looksSecret = (name: string, value: unknown) =>
        secretName.test(name) || (typeof value === "string" && PRIVATE_KEY.test(value));
    const out: string[] = [];
    if (r.type === "kubernetes:core/v1:ConfigMap") {
        const data = r.props.data;
        for (const [k, v] of Object.entries(isObject(data) ? data : {})) {
            if (looksSecret(k, v)) {
                out.push(
                    `ConfigMap ${objectName(r.props)} holds "${k}", which looks like a secret; store it in a Secret`,
                );
            }
        }
    }
    for (const c of podContainers(r.type, r.props) ?? []) {
        for (const e of c.env ?? []) {
            if (e.value !== undefined && e.value !== "" && looksSecret(e.name, e.value)) {
                out.push(
                    `container "${c.name}" of ${r.type.split(":").pop()} ${objectName(r.props)} sets ${e.name} as a literal value, ` +
                        `which looks like a secret; take it from a Secret (valueFrom.secretKeyRef)`,
                );
            }
        }
    }
    return out;
}

export const noPlainSecrets = resourcePolicy<PlainSecretsConfig>({
    name: "no-secrets-in-plain-config",
    description:
        "No secret in plain configuration: ConfigMap data and literal container env values (the program's `env` key among them) hold no passwords, tokens or private keys.",
    defaults: { secretNamePattern: "password|passwd|secret|token|api[-_]?key|private[-_]?key|credential" },
    schema: {
        secretNamePattern: {
            type: "string",
            description: "Case-insensitive regular expression of names that hold secrets.",
        },
    },
    check: plainSecretViolations,
});

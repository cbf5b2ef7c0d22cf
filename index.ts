/**
 * The istio-canary program: stack config -> components -> exports, nothing else.
 * Every problem in the config is reported before any resource is registered (config/program.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryRelease, IstioMesh } from "./components";
import { parseConfig } from "./config/program";
import { configSecretKeys, runtimeConfig } from "./config/runtime";

const cfg = parseConfig(runtimeConfig(), configSecretKeys());
for (const warning of cfg.warnings) {
    void pulumi.log.warn(warning);
}

const mesh = new IstioMesh("mesh", cfg.mesh);
// The TLS key reaches the state only as a secret: the component stores it with pulumi.secret.
const app = new CanaryRelease(
    cfg.release.app,
    {
        ...cfg.release,
        gateway: { namespace: mesh.gatewayNamespace, selector: cfg.gatewaySelector ?? mesh.gatewaySelector },
    },
    // Istio first: its CRDs come from the base chart and pods must be created after istiod can inject sidecars.
    { dependsOn: mesh },
);

/** `{digest}` of an image pinned by digest (`...@sha256:...`), else nothing. */
const digestOf = (image: string) => {
    const digest = /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
    return digest !== undefined ? { digest } : {};
};

/** https URL of the first host. */
export const url = app.url;
/** Current split of the default route, in percent. */
export const weights = app.weights;
/** Namespace of the application. */
export const namespace = app.namespace;
/** What the stable track runs (promotion reads it). */
export const stable = { ...cfg.release.stable, ...digestOf(cfg.release.stable.image) };
/** What the canary track runs, and how many replicas it has. */
export const canary = app.canaryReplicas.apply((replicas) => ({
    ...(cfg.release.canary ?? cfg.release.stable),
    replicas,
}));
/** The last release as the release bot recorded it: status, version, image (promotion reads it). */
export const release = cfg.state;
/** PromQL that shows requests per second per version. */
export const splitQuery = app.splitQuery;
/** Namespace of the ingress gateway. */
export const gatewayNamespace = mesh.gatewayNamespace;
/** URN of the VirtualService: the target of a fast, routing-only rollback. */
export const routingUrn = app.routingUrn;

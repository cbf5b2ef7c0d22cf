/**
 * The istio-canary program: reads and validates the stack config, then wires the components.
 * Every problem in the config is reported before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryRelease, IstioMesh } from "./components";
import { ownKeys, parseConfig } from "./components/config";
import { configSecretKeys } from "./components/pulumi-config";

const cfg = parseConfig(ownKeys(pulumi.runtime.allConfig()), configSecretKeys());
for (const warning of cfg.warnings) {
    void pulumi.log.warn(warning);
}

const mesh = new IstioMesh("mesh", cfg.mesh);
const tls =
    "cert" in cfg.release.tls
        ? { cert: cfg.release.tls.cert, key: pulumi.secret(cfg.release.tls.key) }
        : cfg.release.tls;
const release = new CanaryRelease(
    cfg.release.app,
    {
        ...cfg.release,
        tls,
        gateway: { namespace: mesh.gatewayNamespace, selector: cfg.gatewaySelector ?? mesh.gatewaySelector },
    },
    // Istio first: its CRDs come from the base chart and pods must be created after istiod can inject sidecars.
    { dependsOn: mesh },
);

/** https URL of the first host. */
export const url = release.url;
/** Current split of the default route, in percent. */
export const weights = release.weights;
/** Namespace of the application. */
export const namespace = release.namespace;
/** What the stable track runs. */
export const stable = cfg.release.stable;
/** What the canary track runs, and how many replicas it has. */
export const canary = { ...(cfg.release.canary ?? cfg.release.stable), replicas: release.canaryReplicas };
/** PromQL that shows requests per second per version. */
export const splitQuery = release.splitQuery;
/** Namespace of the ingress gateway. */
export const gatewayNamespace = mesh.gatewayNamespace;

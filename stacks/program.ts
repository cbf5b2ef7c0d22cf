/**
 * The istio-canary program as a function: stack config -> components -> outputs. The root index.ts exports what
 * it returns (what `pulumi up` runs), and the release bot runs the same function as an inline Automation API
 * program in its own process (stacks/automation/inline-stack.ts): no Node.js process and no TypeScript compile
 * per update. Every problem in the config is reported before any resource is registered (config/program.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryRelease, IstioMesh } from "../components";
import { redactUrl } from "../components/redact";
import { imageDigest } from "../components/validation";
import { TrackValues } from "../components/canary-release-args";
import { Weights } from "../components/routing";
import { parseConfig } from "../config/program";
import { ReleaseState } from "../config/release-state";
import { configSecretKeys, runtimeConfig } from "../config/runtime";

/** The program's stack outputs. */
export interface ProgramOutputs {
    /** https URL of the first host. */
    url: pulumi.Output<string>;
    /** Current split of the default route, in percent. */
    weights: pulumi.Output<Weights>;
    /** Namespace of the application. */
    namespace: pulumi.Output<string>;
    /** What the stable track runs (promotion reads it). */
    stable: TrackValues & { digest?: string };
    /** What the canary track runs, and how many replicas it has. */
    canary: pulumi.Output<TrackValues & { replicas: number }>;
    /** The last release as the release bot recorded it: status, version, image (promotion reads it). */
    release: ReleaseState;
    /** PromQL that shows requests per second per version. */
    splitQuery: pulumi.Output<string>;
    /** Namespace of the ingress gateway. */
    gatewayNamespace: pulumi.Output<string>;
    /** URN of the VirtualService (the first route): kept for stacks and tools that read it. */
    routingUrn: pulumi.Output<string>;
    /** URNs of the routes a shift changes: the targets of the bot's routing-only updates. */
    routeUrns: pulumi.Output<string[]>;
    /** URNs of the routes and their DestinationRules: what the bot's drift check refreshes. */
    routingUrns: pulumi.Output<string[]>;
}

/** `{digest}` of an image pinned by digest (`...@sha256:...`), else nothing. */
const digestOf = (image: string) => {
    const digest = imageDigest(image);
    return digest !== undefined ? { digest } : {};
};

/** Registers the mesh and the release from the running stack's config; returns the stack outputs. */
export function program(): ProgramOutputs {
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
            gateway: {
                namespace: mesh.gatewayNamespace,
                selector: cfg.gatewaySelector ?? mesh.gatewaySelector,
                serviceAccount: cfg.gatewayServiceAccount ?? mesh.gatewayServiceAccount,
            },
        },
        // Istio first: its CRDs come from the base chart and pods must be created after istiod can inject sidecars.
        { dependsOn: mesh },
    );

    return {
        url: app.url,
        weights: app.weights,
        namespace: app.namespace,
        stable: { ...cfg.release.stable, ...digestOf(cfg.release.stable.image) },
        canary: app.canaryReplicas.apply((replicas) => ({ ...(cfg.release.canary ?? cfg.release.stable), replicas })),
        // A message written by an older bot may quote a URL with its credentials: never exported as such.
        release: cfg.state.message === undefined ? cfg.state : { ...cfg.state, message: redactUrl(cfg.state.message) },
        splitQuery: app.splitQuery,
        gatewayNamespace: mesh.gatewayNamespace,
        routingUrn: app.routingUrn,
        routeUrns: app.routeUrns,
        routingUrns: app.routingUrns,
    };
}

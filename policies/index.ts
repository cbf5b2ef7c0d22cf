/**
 * istio-canary's policy pack: guards for canary releases on Istio, run by `pulumi preview/up --policy-pack
 * policies` and by the release bot and promotion when a stack's `releasePolicyPack` names it. Every policy is
 * mandatory by default and configurable with `--policy-pack-config` (see README, "Policies").
 */
import { PolicyPack } from "@pulumi/policy";
import { lastDeployment, stackConfig } from "./deployment";
import { policies } from "./pack";

new PolicyPack("istio-canary", {
    description: "Guards for canary releases with Istio: routes, release steps, readiness, images, TLS, secrets.",
    policies: policies({ previous: lastDeployment(), config: () => stackConfig() }),
});

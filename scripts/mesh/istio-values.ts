/**
 * Istio's own chart values for a control plane that runs outside the cluster and serves its webhooks on loopback
 * (the local cluster of scripts/cluster/up.sh). Pulumi.dev.yaml carries the same values (istioBaseValues,
 * istiodValues); the e2e stacks take them from here, with the CA bundle of the running cluster's istiod.
 *
 *  - base.validationURL: both validating webhook configurations (the base chart's istiod-default-validator and the
 *    istiod chart's istio-validator-<ns>) call this URL instead of the `istiod` Service, whose ClusterIP is not on
 *    this host.
 *  - base.validationCABundle: the root the API server checks istiod's serving certificate against (istiod's
 *    plugged-in CA, $ISTIO_CA_BUNDLE). Without it, istiod patches its root into both configurations itself (its
 *    webhook controller), as the dev stack does.
 *  - istiodRemote.injectionURL: the sidecar injector's configurations name a loopback URL too: the API server
 *    calls istiod's injector there for every pod of an injection-labelled namespace (MutatingAdmissionWebhook is on).
 *  - env.ISTIOD_CUSTOM_HOST: what the local istiod runs with (up.sh), recorded with the chart: "localhost" in its
 *    webhook serving certificate.
 */
export const LOCAL_WEBHOOK_URL = "https://localhost:15017/validate";
export const LOCAL_INJECTION_URL = "https://localhost:15017/inject";

/** The `istioBaseValues` and `istiodValues` stack config (JSON) for the local cluster. */
export function localIstioValues(
    extraIstiod: Record<string, unknown> = {},
    env: NodeJS.ProcessEnv = process.env,
): {
    istioBaseValues: string;
    istiodValues: string;
} {
    const url = env.ISTIOD_WEBHOOK_URL ?? LOCAL_WEBHOOK_URL;
    const ca = env.ISTIO_CA_BUNDLE;
    const base = { validationURL: url, ...(ca ? { validationCABundle: ca } : {}) };
    return {
        istioBaseValues: JSON.stringify({ base }),
        istiodValues: JSON.stringify({
            autoscaleEnabled: false,
            base,
            istiodRemote: { injectionURL: LOCAL_INJECTION_URL },
            env: { ISTIOD_CUSTOM_HOST: "localhost" },
            ...extraIstiod,
        }),
    };
}

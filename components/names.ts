/**
 * Every name this package derives: Deployments, workloads, hosts, secrets, Helm releases and gateway labels.
 * The components, the PromQL, the program and the release bot all take their names from here, so a rule such as
 * "the canary Deployment is `<app>-canary`" is written once.
 */

/** The two release tracks. Each has one Deployment and one DestinationRule subset of the same name. */
export type Track = "stable" | "canary";
export const TRACKS: readonly Track[] = ["stable", "canary"];

/** Namespace of an application: the one given, else the app name. */
export function appNamespace(app: string, namespace?: string): string {
    return namespace ?? app;
}

/** Name of a track's Deployment, which Istio reports as `destination_workload`: `<app>-<track>`. */
export function deploymentName(app: string, track: Track): string {
    return `${app}-${track}`;
}

/** Name of the ServiceAccount both tracks' pods run as: the app name (their mesh identity). */
export function serviceAccountName(app: string): string {
    return app;
}

/** Fully qualified host of the Service over both tracks. */
export function serviceHost(app: string, namespace: string): string {
    return `${app}.${namespace}.svc.cluster.local`;
}

/**
 * The one port of the app's Services: named after the protocol (Istio selects the protocol by it) and targeting
 * the container port of that name.
 */
export function servicePorts(protocol: string, port: number) {
    return [{ name: protocol, appProtocol: protocol, port, targetPort: protocol }];
}

/** `namespace/name` reference of the app's Gateway, as a VirtualService names it. */
export function gatewayRef(namespace: string, app: string): string {
    return `${namespace}/${app}`;
}

/**
 * Name of the TLS Secret the component stores in the gateway namespace: `<app>-tls`, or `<namespace>-<app>-tls`
 * when the app has a namespace of its own. The gateway namespace is shared (by apps, and by environments on one
 * cluster), so two stacks of one app in two namespaces must not write the same Secret.
 */
export function tlsSecretName(app: string, namespace: string): string {
    return namespace === app ? `${app}-tls` : `${namespace}-${app}-tls`;
}

/** https URL of the first external host (a wildcard host becomes `www.`). */
export function appUrl(hosts: readonly string[]): string {
    return `https://${hosts[0].replace(/^\*\./, "www.")}/`;
}

/** Helm release name of istiod: `istiod`, or `istiod-<revision>`. */
export function istiodReleaseName(revision?: string): string {
    return revision === undefined ? "istiod" : `istiod-${revision}`;
}

/**
 * Labels the Istio gateway chart gives its pods for a release name: `app: <name>` and
 * `istio: <name without the "istio-" prefix>` (chart helper `gateway.selectorLabels`), unless the chart's `labels`
 * value (in `gatewayValues`) overrides them. A Gateway resource must select exactly these.
 */
export function gatewaySelector(
    releaseName: string,
    gatewayValues?: { [key: string]: unknown },
): Record<string, string> {
    const labels = (gatewayValues?.labels ?? {}) as Record<string, unknown>;
    const pick = (key: string, fallback: string): string => {
        const v = labels[key];
        return typeof v === "string" && v !== "" ? v : fallback;
    };
    return {
        app: pick("app", releaseName),
        istio: pick("istio", releaseName.replace(/^istio-/, "")),
    };
}

/**
 * The service account Istio's gateway chart runs its pods as (chart helper `gateway.serviceAccountName`): the
 * `serviceAccount.name` value, else the gateway's name (the `name` value, else the release name); "default" when
 * the chart creates none (`serviceAccount.create: false`) and names none. Its identity is what the ingress gateway
 * presents to the app.
 */
export function gatewayServiceAccount(releaseName: string, gatewayValues?: { [key: string]: unknown }): string {
    const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const account = (gatewayValues?.serviceAccount ?? {}) as Record<string, unknown>;
    const named = text(account.name);
    if (account.create === false) {
        return named ?? "default";
    }
    return named ?? text(gatewayValues?.name) ?? releaseName;
}

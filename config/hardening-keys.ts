/**
 * The keys of what the pods and the mesh carry besides the workload ("Pods and mesh hardening" in the README's
 * reference): each is on by default and has a key that turns it off. Defaults are the component's own.
 */
import { CANARY_RELEASE_DEFAULTS as D, CanaryReleaseValues } from "../components/canary-release-args";
import { PRINCIPAL, PRINCIPAL_ACCEPTS } from "../components/mesh-security";
import { MEMORY } from "./grammar";
import { Reader } from "./reader";

/** The Args fields these keys fill. */
export type HardeningField =
    | "serviceAccount"
    | "tmpVolume"
    | "ephemeralStorage"
    | "podDisruptionBudgets"
    | "peerAuthentication"
    | "authorizationPolicy"
    | "allowedPrincipals";

/** Reads the hardening group; `storage` holds the ephemeral-storage quantities (they go into `resources`). */
export function readHardening(r: Reader): Pick<CanaryReleaseValues, HardeningField> & {
    storage: { ephemeralStorageRequest?: string; ephemeralStorageLimit?: string };
} {
    r.group = "Pods and mesh hardening";
    return {
        serviceAccount: r.bool("serviceAccount", {
            doc: "Run the pods as a ServiceAccount <app> that mounts no API token (automountServiceAccountToken false); false: the namespace's default account.",
            def: D.serviceAccount,
        }),
        tmpVolume: r.bool("tmpVolume", {
            doc: "Mount an emptyDir at /tmp, the one writable path beside the read-only root filesystem.",
            def: D.tmpVolume,
        }),
        ephemeralStorage: r.bool("ephemeralStorage", {
            doc: "Give the container ephemeral-storage requests and limits (/tmp, logs, the writable layer).",
            def: D.ephemeralStorage,
        }),
        storage: {
            ephemeralStorageRequest: r.string("ephemeralStorageRequest", {
                ...MEMORY,
                doc: "Ephemeral-storage request of the container (with ephemeralStorage).",
                def: D.resources.ephemeralStorageRequest,
            }),
            ephemeralStorageLimit: r.string("ephemeralStorageLimit", {
                ...MEMORY,
                doc: "Ephemeral-storage limit of the container: the kubelet evicts a pod that writes more (with ephemeralStorage).",
                def: D.resources.ephemeralStorageLimit,
            }),
        },
        podDisruptionBudgets: r.bool("podDisruptionBudgets", {
            doc: "A PodDisruptionBudget per track: evictions (node drains) take stable pods one at a time and may take every canary pod.",
            def: D.podDisruptionBudgets,
        }),
        peerAuthentication: r.bool("peerAuthentication", {
            doc: "A PeerAuthentication that makes the app's pods accept mutual TLS only (STRICT).",
            def: D.peerAuthentication,
        }),
        authorizationPolicy: r.bool("authorizationPolicy", {
            doc: "An AuthorizationPolicy that lets only the gateway's service account and allowedPrincipals call the app.",
            def: D.authorizationPolicy,
        }),
        allowedPrincipals: r.list("allowedPrincipals", {
            doc: 'Callers allowed besides the gateway, as Istio principals such as "cluster.local/ns/shop/sa/frontend" (with authorizationPolicy).',
            required: false,
            accepts: `a list of ${PRINCIPAL_ACCEPTS}`,
            item: { accepts: PRINCIPAL_ACCEPTS, pattern: PRINCIPAL },
        }),
    };
}

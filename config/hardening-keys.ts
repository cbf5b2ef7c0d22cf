/**
 * The keys of what the pods and the mesh carry besides the workload ("Pods and mesh hardening" in the README's
 * reference): each is on by default and has a key that turns it off. Defaults are the component's own.
 */
import { CANARY_RELEASE_DEFAULTS as D, CanaryReleaseValues } from "../components/canary-release-args";
import { PRINCIPAL_ITEM, PRINCIPALS_ACCEPTS, refuseRequestAboveLimit, STORAGE } from "./grammar";
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
    const pod = {
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
    };
    const storage = {
        ephemeralStorageRequest: r.string("ephemeralStorageRequest", {
            ...STORAGE,
            doc: "Ephemeral-storage request of the container (with ephemeralStorage); at most ephemeralStorageLimit.",
            def: D.resources.ephemeralStorageRequest,
        }),
        ephemeralStorageLimit: r.string("ephemeralStorageLimit", {
            ...STORAGE,
            doc: "Ephemeral-storage limit of the container: the kubelet evicts a pod that writes more (with ephemeralStorage).",
            def: D.resources.ephemeralStorageLimit,
        }),
    };
    if (pod.ephemeralStorage) {
        refuseRequestAboveLimit(r.problems, "ephemeralStorage", storage);
    }
    return {
        ...pod,
        storage,
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
            doc: "Callers allowed besides the gateway, as Istio principals (with authorizationPolicy). A caller outside the app's namespace also needs its namespace in meshExportTo, or its requests reach the Service without the canary routes.",
            required: false,
            accepts: PRINCIPALS_ACCEPTS,
            item: PRINCIPAL_ITEM,
        }),
    };
}

/**
 * The keys of one application: read straight into {@link CanaryReleaseValues} (application, traffic and TLS
 * groups of the README's reference). Defaults and ranges are the component's own.
 */
import {
    APP_PROTOCOLS,
    CANARY_RELEASE_DEFAULTS as D,
    CANARY_RELEASE_LIMITS as L,
    CanaryReleaseValues,
    POD_SECURITY_LEVELS,
    TLS_MIN_VERSIONS,
} from "../components/canary-release-args";
import { DNS_LABEL_ACCEPTS, IMAGE_ACCEPTS, VERSION_ACCEPTS } from "../components/validation";
import { Reader } from "./reader";
import { TRACK_KEYS } from "./release-state";

const QUANTITY = {
    accepts: 'a Kubernetes quantity such as "100m" or "128Mi"',
    pattern: /^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/,
};
const DNS_NAME = { accepts: "a DNS-1123 name", pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/ };
/** Outlier detection's timings when only its 5xx count is set (Istio's own defaults). */
const OUTLIER = { interval: "10s", baseEjectionTime: "30s" };

/** `o` without its undefined fields. */
function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** "name=value" split at its first "=". */
function nameValue(text: string): { name: string; value: string } {
    const at = text.indexOf("=");
    return { name: text.slice(0, at), value: text.slice(at + 1) };
}

/** The release's Args as its keys give them, before cross-key rules (TLS is resolved by the program). */
export type ReleaseKeys = Omit<CanaryReleaseValues, "gateway" | "tls" | "istioRevision" | "mirrorPercent">;

/** The TLS keys as given. */
export interface TlsKeys {
    cert?: string;
    key?: string;
    secretName?: string;
}

/** Reads the application, traffic and TLS keys; `userMirror` is the user's own `mirrorPercent`. */
export function readRelease(r: Reader): { release: ReleaseKeys; tls: TlsKeys; userMirror: number } {
    const application = readApplication(r);
    const { userMirror, ...traffic } = readTraffic(r);
    const { tls, ...tlsOptions } = readTls(r);
    return { release: { ...application, ...traffic, ...tlsOptions }, tls, userMirror };
}

function readApplication(r: Reader): Omit<ReleaseKeys, TrafficField | "tlsMinVersion" | "httpsRedirect"> {
    r.group = "Application";
    const app = r.required("app", {
        doc: "Application name: names the Service and the Deployments <app>-stable and <app>-canary.",
        accepts: DNS_LABEL_ACCEPTS,
    });
    const track = (name: "stable" | "canary", required: boolean) => {
        const imageKey = TRACK_KEYS[`${name}Image`];
        const versionKey = TRACK_KEYS[`${name}Version`];
        const image = { accepts: IMAGE_ACCEPTS, field: `release.${name}.image` };
        const version = { accepts: VERSION_ACCEPTS, field: `release.${name}.version` };
        return required
            ? {
                  image: r.required(imageKey, { ...image, doc: "Image of the stable track." }),
                  version: r.required(versionKey, {
                      ...version,
                      doc: "Version of the stable track (its pods' `version` label).",
                  }),
              }
            : {
                  image: r.string(imageKey, {
                      ...image,
                      doc: "Image of the canary track; unset when no release is in progress.",
                  }),
                  version: r.string(versionKey, {
                      ...version,
                      doc: "Version of the canary track; set together with canaryImage.",
                  }),
              };
    };
    const namespace = r.string("namespace", {
        doc: "Namespace of the application.",
        accepts: DNS_LABEL_ACCEPTS,
        shown: "the app name",
    });
    const createNamespace = r.bool("createNamespace", {
        doc: "Create the namespace with injection and Pod Security labels; false uses an existing one.",
        def: D.createNamespace,
    });
    const podSecurityEnforce = r.oneOf("podSecurityEnforce", {
        doc: 'Pod Security level enforced on the namespace ("restricted" needs Istio CNI or no sidecar injection).',
        values: POD_SECURITY_LEVELS,
        def: D.podSecurityEnforce,
    });
    const stable = track("stable", true);
    const canary = track("canary", false);
    if ((canary.image === undefined) !== (canary.version === undefined)) {
        r.problems.push(
            "canaryImage and canaryVersion must be set together (both for a release in progress, neither otherwise)",
        );
    }
    return {
        app: app ?? "",
        namespace,
        createNamespace,
        podSecurityEnforce,
        stable: { image: stable.image ?? "", version: stable.version ?? "" },
        canary:
            canary.image !== undefined && canary.version !== undefined
                ? { image: canary.image, version: canary.version }
                : undefined,
        replicas: r.int("replicas", {
            doc: "Replicas of the stable Deployment (kept through a release, so a rollback has full capacity).",
            limits: L.replicas,
            def: D.replicas,
        }),
        canaryReplicas: r.int("canaryReplicas", {
            doc: "Canary replicas, or their floor with canaryScaling. 0 only while no route reaches the canary.",
            limits: L.canaryReplicas,
            def: D.canaryReplicas,
        }),
        canaryScaling: r.bool("canaryScaling", {
            doc: "Scale the canary with its weight: ceil(replicas x weight / 100).",
            def: D.canaryScaling,
        }),
        containerPort: r.int("containerPort", {
            doc: "Port the container listens on.",
            limits: L.containerPort,
            def: D.containerPort,
        }),
        servicePort: r.int("servicePort", { doc: "Port of the Service.", limits: L.servicePort, def: D.servicePort }),
        protocol: r.oneOf("protocol", {
            doc: "Application protocol; names the Service port for Istio's protocol selection.",
            values: APP_PROTOCOLS,
            def: D.protocol,
        }),
        env: r.object("env", { doc: "Container environment variables.", stringValues: true }) as
            Record<string, string> | undefined,
        probePath: r.string("probePath", {
            doc: "HTTP path of the readiness and liveness probes.",
            def: D.probePath,
            pattern: /^\//,
            accepts: 'a path starting with "/"',
        }),
        resources: {
            cpuRequest: r.string("cpuRequest", {
                ...QUANTITY,
                doc: "CPU request of the container.",
                def: D.resources.cpuRequest,
            }),
            memoryRequest: r.string("memoryRequest", {
                ...QUANTITY,
                doc: "Memory request of the container.",
                def: D.resources.memoryRequest,
            }),
            cpuLimit: r.string("cpuLimit", {
                ...QUANTITY,
                doc: "CPU limit of the container.",
                def: D.resources.cpuLimit,
            }),
            memoryLimit: r.string("memoryLimit", {
                ...QUANTITY,
                doc: "Memory limit of the container.",
                def: D.resources.memoryLimit,
            }),
        },
        rolloutTimeoutSeconds: r.int("rolloutTimeoutSeconds", {
            doc: "How long `pulumi up` waits for a Deployment rollout before failing it (a canary that never gets ready).",
            limits: L.rolloutTimeoutSeconds,
            def: D.rolloutTimeoutSeconds,
        }),
        runAsUser: r.int("runAsUser", {
            doc: "Non-root UID the container runs as.",
            limits: L.runAsUser,
            def: D.runAsUser,
        }),
    };
}

/** The keys of the "Traffic" group. */
type TrafficField =
    | "canaryWeight"
    | "hosts"
    | "canaryHeader"
    | "canaryCookie"
    | "timeout"
    | "retries"
    | "connectionPool"
    | "outlierDetection";

function readTraffic(r: Reader): Pick<ReleaseKeys, TrafficField> & { userMirror: number } {
    r.group = "Traffic";
    const canaryWeight = r.int(TRACK_KEYS.canaryWeight, {
        doc: "Percentage of the default route sent to the canary. `pulumi config set canaryWeight 50 && pulumi up` shifts traffic.",
        limits: L.canaryWeight,
        def: D.canaryWeight,
    });
    const hosts = r.list("hosts", { doc: "External hosts served by the Gateway and VirtualService.", required: true });
    const header = r.string("canaryHeader", {
        doc: "Requests carrying this header (with canaryHeaderValue) go to the canary.",
        accepts: 'an HTTP header name such as "x-canary"',
    });
    const headerValue = r.string("canaryHeaderValue", {
        doc: "Exact value canaryHeader must have.",
        def: "true",
        field: "release.canaryHeader.value",
    });
    const cookie = r.string("canaryCookie", {
        doc: "Requests carrying this cookie go to the canary.",
        accepts: 'name=value, such as "version=v2"',
        pattern: /^[^=;\s]+=[^;\s]*$/,
    });
    const userMirror = r.number("mirrorPercent", {
        doc: "Percentage of default-route requests mirrored (copied) to the canary; 0 is off.",
        min: 0,
        max: 100,
        def: D.mirrorPercent,
    });
    const timeout = r.duration("timeout", { doc: "Request timeout of every route." });
    const attempts = r.optionalInt("retryAttempts", {
        doc: "Retry attempts of every route.",
        limits: L.retryAttempts,
        field: "release.retries.attempts",
    });
    const perTryTimeout = r.duration("perTryTimeout", {
        doc: "Timeout of each retry attempt (needs retryAttempts).",
        field: "release.retries.perTryTimeout",
    });
    const retryOn = r.string("retryOn", {
        doc: 'Envoy retry conditions, e.g. "5xx,reset,connect-failure" (needs retryAttempts).',
        field: "release.retries.retryOn",
    });
    if ((perTryTimeout !== undefined || retryOn !== undefined) && attempts === undefined) {
        r.problems.push("perTryTimeout and retryOn need retryAttempts (an integer from 0 to 100)");
    }
    const maxConnections = r.optionalInt("maxConnections", {
        doc: "DestinationRule connection pool: maximum TCP connections per host.",
        limits: { min: 1 },
    });
    const maxPendingRequests = r.optionalInt("maxPendingRequests", {
        doc: "DestinationRule connection pool: maximum pending HTTP/1.1 requests.",
        limits: { min: 1 },
    });
    const outlier5xx = r.optionalInt("outlierConsecutive5xxErrors", {
        doc: "Outlier detection: consecutive 5xx responses that eject a pod; unset turns it off.",
        limits: { min: 1 },
    });
    const outlier = {
        interval: r.duration("outlierInterval", {
            doc: "Outlier detection: analysis interval.",
            def: OUTLIER.interval,
        }),
        baseEjectionTime: r.duration("outlierBaseEjectionTime", {
            doc: "Outlier detection: minimum ejection time.",
            def: OUTLIER.baseEjectionTime,
        }),
    };
    return {
        canaryWeight,
        hosts: hosts ?? [],
        // headerValue has a default and no pattern: it is never undefined.
        canaryHeader: header !== undefined ? { name: header, value: headerValue! } : undefined,
        canaryCookie: cookie !== undefined ? nameValue(cookie) : undefined,
        userMirror,
        timeout,
        retries: attempts !== undefined ? { attempts, perTryTimeout, retryOn } : undefined,
        connectionPool:
            maxConnections !== undefined || maxPendingRequests !== undefined
                ? {
                      ...(maxConnections !== undefined ? { tcp: { maxConnections } } : {}),
                      ...(maxPendingRequests !== undefined
                          ? { http: { http1MaxPendingRequests: maxPendingRequests } }
                          : {}),
                  }
                : undefined,
        outlierDetection:
            outlier5xx !== undefined
                ? { ...OUTLIER, ...definedOnly(outlier), consecutive5xxErrors: outlier5xx }
                : undefined,
    };
}

function readTls(r: Reader): Pick<ReleaseKeys, "tlsMinVersion" | "httpsRedirect"> & { tls: TlsKeys } {
    r.group = "TLS";
    return {
        tls: {
            cert: r.secret("tlsCert", {
                doc: "Gateway certificate (PEM); stored in a kubernetes.io/tls Secret in the gateway namespace.",
                accepts: "a PEM certificate",
            }),
            key: r.secret("tlsKey", { doc: "Private key of tlsCert (PEM).", accepts: "a PEM private key" }),
            secretName: r.string("tlsSecretName", {
                ...DNS_NAME,
                doc: "Use this existing kubernetes.io/tls Secret in the gateway namespace instead of tlsCert/tlsKey.",
            }),
        },
        tlsMinVersion: r.oneOf("tlsMinVersion", {
            doc: "Minimum TLS version of the HTTPS server.",
            values: TLS_MIN_VERSIONS,
            def: D.tlsMinVersion,
        }),
        httpsRedirect: r.bool("httpsRedirect", {
            doc: "Serve HTTP on port 80 only to redirect to HTTPS.",
            def: D.httpsRedirect,
        }),
    };
}

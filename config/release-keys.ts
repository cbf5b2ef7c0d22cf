/**
 * The keys of one application: read straight into {@link CanaryReleaseValues} (application, traffic and TLS
 * groups of the README's reference). Defaults and ranges are the component's own.
 */
import {
    APP_PROTOCOLS,
    ROUTING_APIS,
    CANARY_RELEASE_DEFAULTS as D,
    CANARY_RELEASE_LIMITS as L,
    CanaryReleaseValues,
    POD_SECURITY_LEVELS,
    TLS_MIN_VERSIONS,
} from "../components/canary-release-args";
import { INT32_MAX } from "../components/validation";
import { definedOnly } from "../components/values";
import { readAutoscaling } from "./autoscaling-keys";
import { readSessionAffinity } from "./affinity-keys";
import { HardeningField, readHardening } from "./hardening-keys";
import {
    APP_NAME,
    COOKIE,
    CPU,
    DNS_LABEL_NAME,
    DNS_SUBDOMAIN_NAME,
    ENV_ACCEPTS,
    ENV_NAMES,
    ENV_VALUES,
    HEADER,
    HEADER_VALUE_TEXT,
    HOST,
    HOSTS_ACCEPTS,
    IMAGE,
    MEMORY,
    PEM,
    PROBE_PATH,
    refuseRequestAboveLimit,
    RETRY_CONDITIONS,
    VERSION,
} from "./grammar";
import { Reader } from "./reader";
import { TRACK_KEYS } from "./release-state";
/** Outlier detection's timings when only its 5xx count is set (Istio's own defaults). */
const OUTLIER = { interval: "10s", baseEjectionTime: "30s" };

/** "name=value" split at its first "=". */
function nameValue(text: string): { name: string; value: string } {
    const at = text.indexOf("=");
    return { name: text.slice(0, at), value: text.slice(at + 1) };
}

const CERT = PEM("a PEM certificate");
const KEY = PEM("a PEM private key");

/** Why `hosts` may not hold "*". */
const ANY_HOST =
    'hosts must not hold "*": it binds the routes to every host the gateway serves and, on the mesh gateway, to ' +
    "requests for any host from every namespace the VirtualService is exported to; list the hosts, or a wildcard " +
    'such as "*.example.com"';

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
    const affinity = readSessionAffinity(r);
    const { tls, ...tlsOptions } = readTls(r);
    const { storage, ...hardening } = readHardening(r);
    const autoscaling = readAutoscaling(r);
    return {
        release: {
            ...application,
            resources: { ...application.resources, ...storage },
            ...traffic,
            ...affinity,
            ...tlsOptions,
            ...hardening,
            ...autoscaling,
        },
        tls,
        userMirror,
    };
}

function readApplication(
    r: Reader,
): Omit<
    ReleaseKeys,
    TrafficField | HardeningField | "tlsMinVersion" | "httpsRedirect" | "autoscaling" | "sessionAffinity"
> {
    r.group = "Application";
    const app = r.required("app", {
        ...APP_NAME,
        doc: "Application name: names the Service and the Deployments <app>-stable and <app>-canary.",
    });
    const track = (name: "stable" | "canary", required: boolean) => {
        const imageKey = TRACK_KEYS[`${name}Image`];
        const versionKey = TRACK_KEYS[`${name}Version`];
        const image = { ...IMAGE, field: `release.${name}.image` };
        const version = { ...VERSION, field: `release.${name}.version` };
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
        ...DNS_LABEL_NAME,
        doc: "Namespace of the application.",
        shown: "the app name",
    });
    const createNamespace = r.bool("createNamespace", {
        doc: "Create the namespace with injection and Pod Security labels; false uses an existing one.",
        def: D.createNamespace,
    });
    const podSecurityEnforce = r.oneOf("podSecurityEnforce", {
        doc: 'Pod Security level enforced on the namespace. The pods meet "restricted"; sidecar injection without Istio CNI needs "privileged".',
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
        env: r.object("env", {
            doc: "Container environment variables.",
            accepts: ENV_ACCEPTS,
            entries: { names: ENV_NAMES, values: ENV_VALUES, nonEmpty: false },
        }) as Record<string, string> | undefined,
        probePath: r.string("probePath", {
            ...PROBE_PATH,
            doc: "HTTP path of the readiness and liveness probes.",
            def: D.probePath,
        }),
        resources: readResources(r),
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

/** The container's resources; a request above its limit is refused (Kubernetes would refuse the pods). */
function readResources(r: Reader): ReleaseKeys["resources"] {
    const resources = {
        cpuRequest: r.string("cpuRequest", {
            ...CPU,
            doc: "CPU request of the container.",
            def: D.resources.cpuRequest,
        }),
        memoryRequest: r.string("memoryRequest", {
            ...MEMORY,
            doc: "Memory request of the container.",
            def: D.resources.memoryRequest,
        }),
        cpuLimit: r.string("cpuLimit", {
            ...CPU,
            doc: "CPU limit of the container.",
            def: D.resources.cpuLimit,
        }),
        memoryLimit: r.string("memoryLimit", {
            ...MEMORY,
            doc: "Memory limit of the container.",
            def: D.resources.memoryLimit,
        }),
    };
    refuseRequestAboveLimit(r.problems, "cpu", resources);
    refuseRequestAboveLimit(r.problems, "memory", resources);
    return resources;
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
    | "outlierDetection"
    | "exportTo"
    | "routingApi";

function readTraffic(r: Reader): Pick<ReleaseKeys, TrafficField> & { userMirror: number } {
    r.group = "Traffic";
    const routingApi = r.oneOf("routingApi", {
        doc:
            "The API the routes are written in: istio (VirtualService, DestinationRule, Istio Gateway) or gateway-api " +
            "(the Kubernetes Gateway API: Gateway, HTTPRoutes or GRPCRoutes, a Service and DestinationRule per track; its CRDs installed). " +
            "`pulumi up` and the release bot drive both.",
        values: ROUTING_APIS,
        def: D.routingApi,
    });
    const canaryWeight = r.int(TRACK_KEYS.canaryWeight, {
        doc: "Percentage of the default route sent to the canary. `pulumi config set canaryWeight 50 && pulumi up` shifts traffic.",
        limits: L.canaryWeight,
        def: D.canaryWeight,
    });
    const hosts = r.list("hosts", {
        doc: "External hosts served by the Gateway and VirtualService.",
        required: true,
        accepts: HOSTS_ACCEPTS,
        item: HOST,
        refuse: (host) => (host === "*" ? ANY_HOST : undefined),
    });
    const header = r.string("canaryHeader", {
        ...HEADER,
        doc: "Requests carrying this header (with canaryHeaderValue) go to the canary.",
    });
    const headerValue = r.string("canaryHeaderValue", {
        ...HEADER_VALUE_TEXT,
        doc: "Exact value canaryHeader must have.",
        def: "true",
        field: "release.canaryHeader.value",
    });
    const cookie = r.string("canaryCookie", {
        ...COOKIE,
        doc: "Requests carrying this cookie go to the canary.",
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
        ...RETRY_CONDITIONS,
        doc: 'Envoy retry conditions, e.g. "5xx,reset,connect-failure" (needs retryAttempts).',
        field: "release.retries.retryOn",
    });
    if ((perTryTimeout !== undefined || retryOn !== undefined) && attempts === undefined) {
        r.problems.push("perTryTimeout and retryOn need retryAttempts (an integer from 0 to 100)");
    }
    const maxConnections = r.optionalInt("maxConnections", {
        doc: "DestinationRule connection pool: maximum TCP connections per host.",
        limits: { min: 1, max: INT32_MAX },
    });
    const maxPendingRequests = r.optionalInt("maxPendingRequests", {
        doc: "DestinationRule connection pool: maximum pending HTTP/1.1 requests.",
        limits: { min: 1, max: INT32_MAX },
    });
    const exportTo = r.list("meshExportTo", {
        doc:
            "Namespaces, besides the app's and the gateway's, whose sidecars may use the VirtualService and " +
            "DestinationRule (Istio's exportTo), such as those of in-mesh callers (whose identities go in " +
            'allowedPrincipals); "*" for every namespace.',
        required: false,
        accepts: 'a comma-separated list or a JSON array of namespaces (DNS-1123 labels, each once), or "*" alone',
        item: { accepts: "", pattern: /^(\*|(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/ },
        field: "release.exportTo",
    });
    if (exportTo !== undefined && exportTo.includes("*") && exportTo.length > 1) {
        r.problems.push(
            `meshExportTo must be "*" alone or namespaces without it; got ${JSON.stringify(exportTo.join(","))}`,
        );
    }
    const outlier5xx = r.optionalInt("outlierConsecutive5xxErrors", {
        doc: "Outlier detection: consecutive 5xx responses that eject a pod; unset turns it off.",
        limits: { min: 1, max: INT32_MAX },
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
        routingApi,
        canaryWeight,
        hosts: hosts ?? [],
        // headerValue has a default: it is undefined only when canaryHeaderValue was refused, and then a problem is
        // recorded and parseConfig throws.
        canaryHeader: header !== undefined ? { name: header, value: headerValue! } : undefined,
        canaryCookie: cookie !== undefined ? nameValue(cookie) : undefined,
        userMirror,
        exportTo,
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
                ...CERT,
                doc: "Gateway certificate (PEM); stored in a kubernetes.io/tls Secret in the gateway namespace.",
            }),
            key: r.secret("tlsKey", { ...KEY, doc: "Private key of tlsCert (PEM)." }),
            secretName: r.string("tlsSecretName", {
                ...DNS_SUBDOMAIN_NAME,
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

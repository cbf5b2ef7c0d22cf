/**
 * The grammar of every config key as the README's reference table states it, written apart from the code's (the
 * fuzz tests check the code against it), valid values to start near-misses from, and the values the fuzzers try.
 */
import * as fc from "fast-check";
import { shopPair } from "../fixtures/tls";

const INT32 = 2147483647;

/** What a key's value must be to be accepted, and valid values to start near-misses from. */
export interface Key {
    ok: (v: string, secret: boolean) => boolean;
    examples: string[];
    /** Structured values (JSON) for keys whose grammar is a shape. */
    more?: fc.Arbitrary<string>;
    /** Cases per run (default {@link RUNS}). */
    runs?: number;
}

export const RUNS = 20;

// The grammars, from the README's reference table.
const int = (min: number, max: number) => (v: string) => /^(0|[1-9][0-9]*)$/.test(v) && +v >= min && +v <= max;
const num = (min: number, max: number) => (v: string) =>
    /^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$/.test(v) && +v >= min && +v <= max;
const bool = (v: string) => v === "true" || v === "false";
const oneOf =
    (...xs: string[]) =>
    (v: string) =>
        xs.includes(v);
const noControl = (v: string) => ![...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
const label = (max: number) => (v: string) => v.length <= max && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v);
const labelValue = (v: string) => v.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(v);
/** An image reference, optionally pinned by digest: "@sha256:" and 64 hex digits, at the end. */
const image = (v: string) =>
    v.length <= 512 &&
    /^[a-z0-9][A-Za-z0-9._/:@-]*$/.test(v) &&
    !/[/:@]$/.test(v) &&
    !v.includes("//") &&
    v.split("@")[0].split(":").length <= 3 &&
    (!v.includes("@") || /^[^@]+@sha256:[0-9a-f]{64}$/.test(v));
const path = (v: string) => v.length >= 1 && v.length <= 4096 && noControl(v);
const dnsName = (v: string) =>
    v.length <= 253 && v.split(".").every((l) => l.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(l));
const host = (v: string) => v !== "*" && dnsName(v.startsWith("*.") ? v.slice(2) : v);
/** A DNS-1123 subdomain: lower-case labels joined by ".", at most 253 in all. */
const subdomain = (v: string) =>
    v.length <= 253 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(v);
/** An Istio principal: no whitespace or control characters; "*" alone, or one "*" at its start or its end. */
const principal = (v: string) =>
    v !== "" &&
    noControl(v) &&
    !/\s/.test(v) &&
    (v === "*" || (v.split("*").length <= 2 && !v.slice(1, -1).includes("*")));
const token = (v: string) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v);
function parse(v: string): unknown {
    try {
        return JSON.parse(v);
    } catch {
        return undefined;
    }
}
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const protoFree = (x: unknown): boolean =>
    typeof x !== "object" || x === null || (!Object.hasOwn(x, "__proto__") && Object.values(x).every(protoFree));
const UNITS: Record<string, number> = { y: 31536e6, w: 6048e5, d: 864e5, h: 36e5, m: 6e4, s: 1e3, ms: 1 };
/** A duration of `units` (largest first, each once) from `min` to `max` ms. */
const duration = (units: string[], min: number, max: number) => (v: string) => {
    const m = new RegExp(`^${units.map((u) => `(?:(\\d+)${u}${u === "m" ? "(?!s)" : ""})?`).join("")}$`).exec(v);
    if (m === null || v === "") {
        return false;
    }
    const ms = units.reduce((sum, u, i) => sum + (m[i + 1] === undefined ? 0 : Number(m[i + 1]) * UNITS[u]), 0);
    return ms >= min && ms <= max;
};
const istio = duration(["h", "m", "s", "ms"], 1, 864e5);
const prom = (min: number, max: number) => duration(["y", "w", "d", "h", "m", "s", "ms"], min, max);
const url = (schemes: string[], userInfo: boolean) => (v: string) => {
    let u: URL;
    try {
        u = new URL(v);
    } catch {
        return false;
    }
    return (
        schemes.some((s) => v.startsWith(`${s}://`)) &&
        u.hostname !== "" &&
        v.length <= 2048 &&
        !/[\s#\\]/.test(v) &&
        noControl(v) &&
        (userInfo || (u.username === "" && u.password === "" && !/^[a-z]+:\/\/[^/?#]*@/.test(v)))
    );
};
const cpu = (v: string) => {
    const millis = /^[1-9][0-9]*m$/.test(v) ? parseInt(v, 10) : /^[0-9]+(\.[0-9]{1,3})?$/.test(v) ? +v * 1000 : NaN;
    return millis >= 1 && millis <= 1e6;
};
const bytes = (v: string) => {
    const m = /^([0-9]+(\.[0-9]{1,3})?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(v);
    return m !== null && (m[3] !== undefined || !m[1].includes(".")) && +m[1] > 0;
};
const time = (v: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) &&
    !Number.isNaN(Date.parse(v)) &&
    new Date(Date.parse(v)).toISOString().slice(0, 19) === v.slice(0, 19);
const RETRY_ON =
    "5xx gateway-error reset reset-before-request connect-failure envoy-ratelimited retriable-4xx refused-stream retriable-status-codes retriable-headers http3-post-connect-failure cancelled deadline-exceeded internal resource-exhausted unavailable".split(
        " ",
    );

/** A list of hosts, steps or gates: comma-separated (spaces around the commas) or, for hosts, a JSON array. */
const items = (v: string, json: boolean): string[] | undefined => {
    if (json && v.trim().startsWith("[")) {
        const a = parse(v);
        return Array.isArray(a) && a.every((x) => typeof x === "string") ? a : undefined;
    }
    return v.split(",").map((s) => s.trim());
};
const unique = (xs: string[]) => new Set(xs).size === xs.length;

const hookOk = (h: unknown, names: Set<string>): boolean => {
    if (
        !isObject(h) ||
        !Object.keys(h).every((k) => ["name", "type", "url", "timeout", "retries", "metadata"].includes(k))
    ) {
        return false;
    }
    const md = h.metadata;
    const fresh = typeof h.name === "string" && !names.has(h.name);
    names.add(String(h.name));
    return (
        fresh &&
        /^[a-z0-9][a-z0-9-]{0,62}$/.test(h.name as string) &&
        ["pre-rollout", "rollout", "confirm-promotion", "post-rollout", "rollback", "event"].includes(
            h.type as string,
        ) &&
        typeof h.url === "string" &&
        url(["http", "https"], false)(h.url) &&
        (h.timeout === undefined || (typeof h.timeout === "string" && prom(1000, 3e5)(h.timeout))) &&
        (h.retries === undefined ||
            (Number.isInteger(h.retries) && (h.retries as number) >= 0 && (h.retries as number) <= 10)) &&
        (md === undefined ||
            (isObject(md) &&
                Object.entries(md).every(
                    ([k, x]) => k !== "" && k !== "__proto__" && k.length <= 256 && typeof x === "string",
                )))
    );
};

const checkOk = (c: unknown, names: Set<string>): boolean => {
    if (!isObject(c) || !Object.keys(c).every((k) => ["name", "query", "min", "max"].includes(k))) {
        return false;
    }
    const fresh =
        typeof c.name === "string" &&
        !names.has(c.name) &&
        !["success-rate", "latency-p99", "request-count"].includes(c.name);
    names.add(String(c.name));
    const n = (x: unknown) => x === undefined || (typeof x === "number" && Number.isFinite(x));
    return (
        fresh &&
        /^[a-z0-9][a-z0-9-]{0,62}$/.test(c.name as string) &&
        typeof c.query === "string" &&
        c.query.trim() !== "" &&
        c.query.length <= 8192 &&
        noControl(c.query.replace(/[\t\n\r]/g, " ")) &&
        n(c.min) &&
        n(c.max) &&
        (c.min !== undefined || c.max !== undefined) &&
        (c.min === undefined || c.max === undefined || (c.min as number) <= (c.max as number))
    );
};

const approval = (a: unknown, fields: string[], optional: Record<string, (v: string) => boolean> = {}): boolean =>
    isObject(a) &&
    Object.keys(a).every((k) => fields.includes(k) || Object.prototype.hasOwnProperty.call(optional, k)) &&
    fields.every((k) => typeof a[k] === "string") &&
    Object.entries(optional).every(([k, ok]) => a[k] === undefined || (typeof a[k] === "string" && ok(a[k]))) &&
    labelValue(a.version as string) &&
    /^[A-Za-z0-9][-A-Za-z0-9_.@+ ]{0,63}$/.test(a.by as string) &&
    time(a.at as string) &&
    (!fields.includes("gate") ||
        ((a.gate === "complete" || int(1, 100)(a.gate as string)) &&
            ["approve", "abort"].includes(a.decision as string)));

const jsonOf = <T>(arb: fc.Arbitrary<T>) => arb.map((x) => JSON.stringify(x));
const junk = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.constant("__proto__"));
const names = fc.oneof(
    fc.constantFrom("A", "LOG_LEVEL", "a.b-c", "RELEASE_TRACK", "__proto__", "", "A=B", "1X"),
    fc.string({ maxLength: 6 }),
);

export const KEYS: Record<string, Key> = {
    app: { ok: label(56), examples: ["shop", "a", "a-1", "x".repeat(56)] },
    namespace: { ok: label(63), examples: ["prod", "a-b"] },
    createNamespace: { ok: bool, examples: ["true", "false"] },
    podSecurityEnforce: { ok: oneOf("privileged", "baseline", "restricted"), examples: ["baseline"] },
    stableImage: {
        ok: image,
        examples: ["registry.example.test/shop:1.0.0", "ghcr.io/org/app@sha256:" + "a".repeat(64)],
    },
    stableVersion: { ok: labelValue, examples: ["v1", "1.0.0-rc_1"] },
    canaryImage: { ok: image, examples: ["r.example.test:5000/a/b:2", `r.example.test/a:2@sha256:${"0f".repeat(32)}`] },
    canaryVersion: { ok: labelValue, examples: ["v2"] },
    replicas: { ok: int(1, INT32), examples: ["1", "2147483647", "2147483648"] },
    canaryReplicas: { ok: int(0, INT32), examples: ["0", "3"] },
    canaryScaling: { ok: bool, examples: ["true"] },
    containerPort: { ok: int(1, 65535), examples: ["8080", "65535"] },
    servicePort: { ok: int(1, 65535), examples: ["80"] },
    protocol: { ok: oneOf("http", "http2", "grpc"), examples: ["grpc"] },
    routingApi: { ok: oneOf("istio", "gateway-api"), examples: ["gateway-api"] },
    env: {
        ok: (v) => {
            const e = parse(v);
            return (
                isObject(e) &&
                Object.entries(e).every(
                    ([k, x]) =>
                        /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(k) &&
                        k.length <= 256 &&
                        !["RELEASE_TRACK", "__proto__"].includes(k) &&
                        typeof x === "string" &&
                        !x.includes("\u0000"),
                )
            );
        },
        examples: ['{"LOG_LEVEL":"info"}', "{}"],
        more: jsonOf(fc.dictionary(names, fc.oneof(fc.string({ maxLength: 4 }), junk), { maxKeys: 3 })),
        runs: 60,
    },
    probePath: {
        ok: (v) => v.length <= 1024 && /^\/[-A-Za-z0-9._~!$&'()*+,;=:@%/?]*$/.test(v),
        examples: ["/healthz", "/health?full=1"],
    },
    cpuRequest: { ok: cpu, examples: ["100m", "0.5", "2"] },
    memoryRequest: { ok: bytes, examples: ["128Mi", "1.5Gi", "1000"] },
    cpuLimit: { ok: cpu, examples: ["500m", "1000"] },
    memoryLimit: { ok: bytes, examples: ["256Mi", "1Ti"] },
    rolloutTimeoutSeconds: { ok: int(30, 86400), examples: ["30", "86400"] },
    runAsUser: { ok: int(1, INT32), examples: ["65532"] },
    canaryWeight: { ok: int(0, 100), examples: ["0", "100"] },
    hosts: {
        ok: (v) => {
            const h = items(v, true);
            return h !== undefined && h.length > 0 && unique(h) && h.every(host);
        },
        examples: ["shop.example.test", "a.example.com,*.example.com", '["x.example.com"]', "*"],
        more: jsonOf(
            fc.array(fc.constantFrom("a.example.com", "*", "*.b.c", "A.com", "", "a..b", "\u0000"), { maxLength: 3 }),
        ),
        runs: 60,
    },
    canaryHeader: { ok: (v) => v.length <= 256 && token(v), examples: ["x-canary"] },
    canaryHeaderValue: { ok: (v) => v.length <= 256 && /^[!-~]([ -~]*[!-~])?$/.test(v), examples: ["always", "a b"] },
    canaryCookie: {
        ok: (v) => {
            const i = v.indexOf("=");
            return i > 0 && i <= 256 && token(v.slice(0, i)) && /^[!#-+\--:<-[\]-~]{0,1024}$/.test(v.slice(i + 1));
        },
        examples: ["version=v2", "a="],
    },
    sessionAffinity: { ok: (v) => v.length <= 256 && token(v), examples: ["canary-session", "a=b"] },
    sessionAffinityMaxAge: { ok: int(1, 31_536_000), examples: ["3600", "0"] },
    mirrorPercent: { ok: num(0, 100), examples: ["12.5", "100"] },
    timeout: { ok: istio, examples: ["250ms", "1h30m", "24h"] },
    retryAttempts: { ok: int(0, 100), examples: ["3"] },
    perTryTimeout: { ok: istio, examples: ["2s"] },
    retryOn: {
        ok: (v) => v.split(",").every((c) => RETRY_ON.includes(c) || /^[1-5][0-9][0-9]$/.test(c)),
        examples: ["5xx,reset", "503"],
    },
    meshExportTo: {
        ok: (v) => {
            const n = items(v, true);
            return n !== undefined && n.length > 0 && unique(n) && (n.join() === "*" || n.every(label(63)));
        },
        examples: ["*", "callers,ops", '["a"]'],
    },
    maxConnections: { ok: int(1, INT32), examples: ["100"] },
    maxPendingRequests: { ok: int(1, INT32), examples: ["10"] },
    outlierConsecutive5xxErrors: { ok: int(1, INT32), examples: ["5"] },
    outlierInterval: { ok: istio, examples: ["10s"] },
    outlierBaseEjectionTime: { ok: istio, examples: ["30s"] },
    tlsCert: { ok: (v) => v.includes("-----BEGIN CERTIFICATE-----"), examples: [shopPair().cert] },
    tlsKey: { ok: (v) => v.includes("PRIVATE KEY-----"), examples: [shopPair().key] },
    tlsSecretName: { ok: subdomain, examples: ["shop-tls", "a.b"] },
    tlsMinVersion: { ok: oneOf("TLSV1_2", "TLSV1_3"), examples: ["TLSV1_3"] },
    httpsRedirect: { ok: bool, examples: ["false"] },
    serviceAccount: { ok: bool, examples: ["false"] },
    tmpVolume: { ok: bool, examples: ["false"] },
    ephemeralStorage: { ok: bool, examples: ["true"] },
    ephemeralStorageRequest: { ok: bytes, examples: ["64Mi", "100M", "1.5Gi"] },
    ephemeralStorageLimit: { ok: bytes, examples: ["512Mi", "2Gi", "1000000000"] },
    podDisruptionBudgets: { ok: bool, examples: ["false"] },
    autoscaling: { ok: bool, examples: ["true"] },
    autoscalingMaxReplicas: { ok: int(1, INT32), examples: ["2", "10"] },
    autoscalingTargetCpu: { ok: int(1, 1000), examples: ["80"] },
    autoscalingScaleDownSeconds: { ok: int(0, 3600), examples: ["0", "300"] },
    peerAuthentication: { ok: bool, examples: ["false"] },
    authorizationPolicy: { ok: bool, examples: ["false"] },
    allowedPrincipals: {
        ok: (v) => {
            const p = items(v, true);
            return p !== undefined && p.length > 0 && unique(p) && p.every(principal);
        },
        examples: ["cluster.local/ns/shop/sa/frontend", "*/sa/batch, cluster.local/*", '["*"]'],
        more: jsonOf(
            fc.array(fc.constantFrom("cluster.local/ns/a/sa/b", "*", "**", "a*b", "*a*", "a b", "", "a\u0000"), {
                maxLength: 3,
            }),
        ),
        runs: 60,
    },
    istioInstall: { ok: bool, examples: ["false"] },
    istioCni: { ok: bool, examples: ["true"] },
    istioVersion: {
        ok: (v) =>
            v.length <= 64 &&
            /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/.test(v),
        examples: ["1.28.0", "1.31.0-beta.1"],
    },
    istioChartRepository: {
        ok: (v, secret) => url(["http", "https", "oci"], secret)(v),
        examples: ["https://charts.example.com/istio", "oci://r.example.com/c", "https://u:p@charts.example.com"],
    },
    istioChartDir: { ok: path, examples: ["charts", "~/c"] },
    gatewayApiCrdsDir: { ok: path, examples: ["crds", "~/gateway-api"] },
    istioNamespace: { ok: label(63), examples: ["istio-system"] },
    istioRevision: { ok: label(63), examples: ["canary"] },
    gatewayName: { ok: label(53), examples: ["istio-ingressgateway", "g".repeat(53)] },
    gatewayNamespace: { ok: label(63), examples: ["istio-ingress"] },
    gatewayServiceType: { ok: oneOf("LoadBalancer", "ClusterIP", "NodePort"), examples: ["ClusterIP"] },
    istioPodSecurityEnforce: { ok: oneOf("privileged", "baseline", "restricted"), examples: ["privileged"] },
    gatewaySelector: {
        ok: (v) => {
            const o = parse(v);
            return (
                isObject(o) &&
                Object.keys(o).length > 0 &&
                Object.entries(o).every(
                    ([k, x]) =>
                        /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(k) &&
                        typeof x === "string" &&
                        (x === "" || labelValue(x)),
                )
            );
        },
        examples: ['{"istio":"ingressgateway"}', '{"example.com/gw":""}'],
        more: jsonOf(fc.dictionary(names, fc.oneof(fc.constantFrom("ingress", "", "a b"), junk), { maxKeys: 2 })),
        runs: 60,
    },
    gatewayServiceAccount: { ok: subdomain, examples: ["istio-ingressgateway", "edge.gw-1"] },
    istioBaseValues: { ok: (v) => isObject(parse(v)) && protoFree(parse(v)), examples: ['{"a":{"b":[1]}}'] },
    istiodValues: { ok: (v) => isObject(parse(v)) && protoFree(parse(v)), examples: ["{}"] },
    gatewayValues: {
        ok: (v) => isObject(parse(v)) && protoFree(parse(v)),
        examples: ['{"labels":{"x":"y"}}'],
        more: fc.json({ maxDepth: 3 }),
        runs: 60,
    },
    releaseSteps: {
        ok: (v) => {
            const s = items(v, false)!;
            return (
                s.every((x) => /^[1-9][0-9]{0,2}$/.test(x)) &&
                s.every((x, i) => +x <= 100 && (i === 0 || +x > +s[i - 1])) &&
                s.at(-1) === "100"
            );
        },
        examples: ["10,25,50,100", "100", "5, 100"],
    },
    releaseInterval: { ok: prom(1e4, 864e5), examples: ["1m", "10s", "24h"] },
    releaseMetricWindow: { ok: prom(3e4, 6e4), examples: ["1m", "30s"] },
    releaseFailureThreshold: { ok: int(1, 100), examples: ["1", "100"] },
    releaseMinSuccessRate: { ok: num(0, 100), examples: ["99.5"] },
    releaseMaxLatencyMs: { ok: int(0, 36e5), examples: ["500"] },
    releaseChecks: {
        ok: (v) => {
            const a = parse(v);
            const seen = new Set<string>();
            return Array.isArray(a) && a.every((c) => checkOk(c, seen));
        },
        examples: ['[{"name":"errors","query":"sum(x)","max":1}]', "[]"],
        more: jsonOf(
            fc.array(
                fc.record(
                    {
                        name: fc.oneof(fc.constantFrom("errors", "success-rate", "E", ""), junk),
                        query: fc.oneof(fc.constantFrom("sum(x)", " ", "a\u0000"), junk),
                        min: fc.oneof(fc.double(), junk),
                        max: fc.oneof(fc.double(), junk),
                    },
                    { requiredKeys: [] },
                ),
                { maxLength: 2 },
            ),
        ),
        runs: 60,
    },
    releaseNoData: { ok: oneOf("fail", "hold", "pass"), examples: ["hold"] },
    releaseHoldLimit: { ok: int(1, 100), examples: ["3"] },
    releaseMinRequests: { ok: int(0, INT32), examples: ["0"] },
    releaseErrorLimit: { ok: int(1, 100), examples: ["4"] },
    releaseMirrorPercent: { ok: num(0, 100), examples: ["5"] },
    releaseHeaderPhase: { ok: bool, examples: ["true"] },
    releaseRollback: { ok: oneOf("fast", "update"), examples: ["update"] },
    prometheusUrl: {
        ok: url(["http", "https"], false),
        examples: ["http://prom.example.com:9090", "https://p.example.com/x?next=http://a@b/", "http://u:p@h"],
    },
    prometheusTimeout: { ok: prom(1e3, 864e5), examples: ["10s"] },
    prometheusScrapeInterval: { ok: prom(1e3, 3e4), examples: ["15s"] },
    prometheusUser: { ok: (v) => v.length <= 256 && !v.includes(":") && noControl(v), examples: ["bot"] },
    prometheusPassword: { ok: (v) => v.trim() !== "" && v.length <= 1024 && noControl(v), examples: ["pa55 word"] },
    prometheusToken: { ok: (v) => v.length <= 8192 && /^[!-~]+$/.test(v), examples: ["t0ken.abc"] },
    releasePolicyPack: { ok: path, examples: ["policies"] },
    releasePolicyPackConfig: { ok: path, examples: ["p.json"] },
    releaseGates: {
        ok: (v) => {
            const g = items(v, false)!;
            return unique(g) && g.every((x) => x === "complete" || ["10", "25", "50", "100"].includes(x));
        },
        examples: ["50,complete", "complete", "10, 25"],
    },
    promotionSoakTime: { ok: prom(1e3, 31536e6), examples: ["24h", "1y"] },
    promotionRequireApproval: { ok: bool, examples: ["true"] },
    releaseHooks: {
        ok: (v) => {
            const a = parse(v);
            const seen = new Set<string>();
            return Array.isArray(a) && a.every((h) => hookOk(h, seen));
        },
        examples: ['[{"name":"chat","type":"event","url":"https://chat.example.com/h","metadata":{"c":"#r"}}]'],
        more: jsonOf(
            fc.array(
                fc.record(
                    {
                        name: fc.oneof(fc.constantFrom("chat", "Chat", ""), junk),
                        type: fc.oneof(fc.constantFrom("event", "rollout", "hook"), junk),
                        url: fc.oneof(
                            fc.constantFrom("https://h.example.com/x", "http://u:p@h/", "ftp://h/", "http:///x"),
                            junk,
                        ),
                        timeout: fc.oneof(fc.constantFrom("10s", "0s", "6m"), junk),
                        retries: fc.oneof(fc.integer({ min: -1, max: 11 }), junk),
                        metadata: fc.oneof(
                            fc.dictionary(names, fc.oneof(fc.string({ maxLength: 3 }), junk), { maxKeys: 2 }),
                            junk,
                        ),
                    },
                    { requiredKeys: [] },
                ),
                { maxLength: 2 },
            ),
        ),
        runs: 60,
    },
    releaseHookSecret: { ok: (v) => v.trim() !== "" && v.length <= 1024 && noControl(v), examples: ["k3y-value"] },
    releaseHookConfirmLimit: { ok: prom(1e3, 864e5), examples: ["1h"] },
    releaseLoadUrl: { ok: url(["http", "https"], false), examples: ["http://gw.example.com/", "http://u@h/"] },
    releaseLoadRate: { ok: int(1, 1000), examples: ["10"] },
    releaseLoadMaxRequests: { ok: int(1, 1e6), examples: ["3000"] },
    releaseLoadTimeout: { ok: prom(100, 6e4), examples: ["5s", "100ms"] },
    releaseLoadCanaryHeader: { ok: bool, examples: ["false"] },
    releaseStatus: {
        ok: oneOf("idle", "in-progress", "awaiting-approval", "rolling-back", "completed", "rolled-back", "failed"),
        examples: ["completed"],
    },
    releaseVersion: { ok: labelValue, examples: ["v2"] },
    releaseImage: { ok: image, examples: ["r.example.test/shop:2"] },
    releasePhase: { ok: oneOf("mirror", "header", "steps", "complete"), examples: ["steps"] },
    releaseMessage: {
        ok: (v) => v.length <= 300 && noControl(v.replace(/[\t\n\r]/g, " ")),
        examples: ["completed 2026-11-30T10:00:00.000Z", "a\nb"],
    },
    releaseCause: {
        ok: oneOf("unhealthy", "hook", "metrics", "update-failed", "aborted"),
        examples: ["unhealthy", "update-failed"],
    },
    releasePreviousImage: { ok: image, examples: ["r.example.test/shop:1"] },
    releasePreviousVersion: { ok: labelValue, examples: ["v1"] },
    releaseOwner: { ok: (v) => /^[A-Za-z0-9][-A-Za-z0-9_.:@]{0,127}$/.test(v), examples: ["host:42:abc"] },
    releaseLeaseExpires: {
        ok: time,
        examples: ["2026-11-30T10:00:00Z", "2026-02-29T10:00:00Z", "2028-02-29T10:00:00.5Z"],
    },
    releaseGate: { ok: (v) => v === "complete" || int(1, 100)(v), examples: ["50", "complete"] },
    releaseApprovals: {
        ok: (v) => {
            const a = parse(v);
            return (
                Array.isArray(a) && a.every((x) => approval(x, ["gate", "version", "decision", "by", "at"], { image }))
            );
        },
        examples: [
            '[{"gate":"50","version":"v2","decision":"approve","by":"alice","at":"2026-11-30T10:00:00Z"}]',
            '[{"gate":"50","version":"v2","image":"r.example.test/shop:2","decision":"approve","by":"a","at":"2026-11-30T10:00:00Z"}]',
        ],
    },
    promotionApproval: {
        ok: (v) =>
            approval(parse(v), ["version", "by", "at"], {
                image,
                usedAt: time,
                usedFrom: (s) => /^([A-Za-z0-9_.-]{1,100}\/){0,2}[A-Za-z0-9_.-]{1,100}$/.test(s),
            }),
        examples: [
            '{"version":"v2","by":"alice","at":"2026-11-30T10:00:00Z"}',
            '{"version":"v2","by":"a","at":"2026-13-01T00:00:00Z"}',
            '{"version":"v2","image":"r.example.test/shop:2","by":"a","at":"2026-11-30T10:00:00Z","usedAt":"2026-11-30T11:00:00Z","usedFrom":"staging"}',
        ],
    },
    releaseFailedAnalyses: { ok: int(1, 100), examples: ["1", "2", "100"] },
    releaseStableReplicas: { ok: int(1, INT32), examples: ["1", "6", "2147483647", "0"] },
};

/** Near-misses of valid values: one character inserted, dropped or replaced, two joined, cased, padded, repeated. */
export function near(examples: string[]): fc.Arbitrary<string> {
    const ex = fc.constantFrom(...examples);
    const ch = fc.oneof(
        fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
        fc.constantFrom(
            " ",
            "\u0000",
            "\n",
            "*",
            ",",
            "=",
            "/",
            ":",
            "@",
            "-",
            ".",
            "0",
            "9",
            "A",
            "%",
            "\\",
            "#",
            "?",
        ),
    );
    const at = (e: string, i: number) => (e.length === 0 ? 0 : i % e.length);
    return fc.oneof(
        ex,
        fc.tuple(ex, fc.nat(), ch).map(([e, i, c]) => e.slice(0, at(e, i)) + c + e.slice(at(e, i))),
        fc.tuple(ex, fc.nat()).map(([e, i]) => e.slice(0, at(e, i)) + e.slice(at(e, i) + 1)),
        fc.tuple(ex, fc.nat(), ch).map(([e, i, c]) => e.slice(0, at(e, i)) + c + e.slice(at(e, i) + 1)),
        fc.tuple(ex, ex).map(([a, b]) => `${a},${b}`),
        ex.map((e) => e.toUpperCase()),
        ex.map((e) => ` ${e}`),
        ex.map((e) => e.repeat(9)),
    );
}

const SPECIALS = [
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "*",
    "{}",
    "[]",
    "null",
    "1e999",
    "-1",
    "01",
    "2147483648",
    "99999999999999999999",
    "0x10",
    "__proto__",
    '{"__proto__":"x"}',
    "a\r\nb",
    "A=B",
    "Infinity",
    "NaN",
    "😀",
];
export const anything: fc.Arbitrary<string> = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: "binary", maxLength: 10 }),
    fc.constantFrom(...SPECIALS),
    fc.json({ maxDepth: 2 }),
    fc.integer().map(String),
    fc.double().map(String),
);

/**
 * Validation of CanaryReleaseArgs: one list of rules, each declaring the Input fields it reads. A rule runs
 * before anything is registered when those fields are known; when one is an Output, the same rule runs inside
 * `apply` on the resolved values (checkedInputs), with the same message, before any resource uses them.
 * Messages name the Args fields; callers that know the fields by other names (the stack config's keys) pass a
 * FieldNamer.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    APP_PROTOCOLS,
    CANARY_RELEASE_DEFAULTS as D,
    CANARY_RELEASE_LIMITS as L,
    CanaryReleaseArgs,
    CanaryReleaseValues,
    MAX_APP_NAME_LENGTH,
    POD_SECURITY_LEVELS,
    ROUTING_APIS,
    RoutingApi,
    TLS_MIN_VERSIONS,
} from "./canary-release-args";
import { GATEWAY_API_DURATION } from "./gateway-api";
import {
    describeProblems,
    DNS_LABEL,
    DNS_LABEL_ACCEPTS,
    DURATION_ACCEPTS,
    FieldNamer,
    HEADER_NAME,
    HEADER_VALUE,
    HEADER_VALUE_ACCEPTS,
    IMAGE_ACCEPTS,
    IMAGE_REF,
    intProblem,
    isDuration,
    isKnown,
    LABEL_VALUE,
    oneOfProblem,
    retryOnProblems,
    VERSION_ACCEPTS,
} from "./validation";
import { principalProblems } from "./mesh-security";

/** The Args fields validation messages can name (dotted for nested ones). */
export type CanaryReleaseField =
    | Exclude<keyof CanaryReleaseArgs, "stable" | "canary" | "retries">
    | "stable.image"
    | "stable.version"
    | "canary"
    | "canary.image"
    | "canary.version"
    | "retries.attempts"
    | "retries.perTryTimeout"
    | "retries.retryOn"
    | "autoscaling.maxReplicas"
    | "autoscaling.targetCpuUtilization"
    | "autoscaling.scaleDownStabilizationSeconds"
    | "autoscaling.stableReplicas"
    | "sessionAffinity.cookieName"
    | "sessionAffinity.maxAgeSeconds";

/** The validated fields that may hold Outputs. */
export const INPUT_FIELDS = ["stable", "canary", "canaryWeight", "replicas", "canaryReplicas", "hosts"] as const;
export type InputField = (typeof INPUT_FIELDS)[number];

/** Fields whose values may hold Outputs but no rule reads (TLS material, where the gateway runs, env values). */
const PASS_THROUGH_FIELDS = ["tls", "gateway", "env"] as const;

type Namer = FieldNamer<CanaryReleaseField>;

/** One check: the Input fields it reads (the others it reads are plain), and its problems. */
interface Rule {
    reads: readonly InputField[];
    check(a: CanaryReleaseValues, name: Namer): (string | undefined)[];
}

const dnsLabel = (field: CanaryReleaseField, value: string | undefined, name: Namer) =>
    value !== undefined && !DNS_LABEL.test(value)
        ? `${name(field)} must be ${DNS_LABEL_ACCEPTS}; got "${value}"`
        : undefined;

const intField = (field: keyof typeof L & keyof typeof D & CanaryReleaseField, reads: readonly InputField[] = []) => ({
    reads,
    check: (a: CanaryReleaseValues, name: Namer) => [intProblem(name(field), a[field] ?? D[field], L[field])],
});

const track = (t: "stable" | "canary"): Rule => ({
    reads: [t],
    check: (a, name) => {
        const v = a[t];
        if (v === undefined) {
            return [];
        }
        return [
            IMAGE_REF.test(v.image) ? undefined : `${name(`${t}.image`)} must be ${IMAGE_ACCEPTS}; got "${v.image}"`,
            LABEL_VALUE.test(v.version)
                ? undefined
                : `${name(`${t}.version`)} must be ${VERSION_ACCEPTS}; got "${v.version}"`,
        ];
    },
});

/** The autoscaling fields: in range, a maximum of at least the stable's minimum, not with canaryScaling. */
function autoscalingProblems(a: CanaryReleaseValues, name: Namer): (string | undefined)[] {
    const h = a.autoscaling;
    if (h === undefined) {
        return [];
    }
    const replicas = a.replicas ?? D.replicas;
    const stabilization = h.scaleDownStabilizationSeconds;
    return [
        intProblem(name("autoscaling.maxReplicas"), h.maxReplicas, L.autoscalingMaxReplicas),
        intProblem(
            name("autoscaling.targetCpuUtilization"),
            h.targetCpuUtilization ?? D.autoscalingTargetCpuUtilization,
            L.autoscalingTargetCpuUtilization,
        ),
        stabilization === undefined
            ? undefined
            : intProblem(
                  name("autoscaling.scaleDownStabilizationSeconds"),
                  stabilization,
                  L.autoscalingScaleDownStabilizationSeconds,
              ),
        h.stableReplicas === undefined
            ? undefined
            : intProblem(name("autoscaling.stableReplicas"), h.stableReplicas, L.autoscalingStableReplicas),
        h.maxReplicas < replicas
            ? `${name("autoscaling.maxReplicas")} must be at least ${name("replicas")} (the stable's minimum, ${replicas}); got ${h.maxReplicas}`
            : undefined,
        (a.canaryScaling ?? D.canaryScaling)
            ? `${name("canaryScaling")} must be false with ${name("autoscaling")}: the canary's HPA bounds follow its weight instead`
            : undefined,
    ];
}

/**
 * What the `gateway-api` routing mode cannot express (the Gateway API's standard channel has no retries, no TLS
 * minimum, and a GRPCRoute no timeouts; exportTo is a VirtualService's), each refused with the reason, and its
 * timeout in the Gateway API's duration form.
 */
function gatewayApiProblems(a: CanaryReleaseValues, name: Namer): (string | undefined)[] {
    if ((a.routingApi ?? D.routingApi) !== RoutingApi.GatewayApi) {
        return [];
    }
    const mode = `${name("routingApi")} "gateway-api"`;
    const refuse = (field: CanaryReleaseField, set: boolean, why: string) =>
        set
            ? `${name(field)} cannot be used with ${mode}: ${why}; unset it or use ${name("routingApi")} "istio"`
            : undefined;
    return [
        refuse(
            "retries.attempts",
            a.retries !== undefined,
            "the Gateway API's standard channel has no retries (HTTPRoute retry is experimental)",
        ),
        refuse(
            "exportTo",
            a.exportTo !== undefined,
            "it is Istio's visibility of a VirtualService, which this mode does not create",
        ),
        refuse(
            "tlsMinVersion",
            (a.tlsMinVersion ?? D.tlsMinVersion) !== D.tlsMinVersion,
            `a Gateway API listener has no TLS minimum (istiod's default, ${D.tlsMinVersion}, applies)`,
        ),
        refuse("timeout", a.protocol === "grpc" && a.timeout !== undefined, "a gRPC app's GRPCRoute has no timeouts"),
        a.mirrorPercent !== undefined && !Number.isInteger(a.mirrorPercent)
            ? `${name("mirrorPercent")} must be a whole percentage with ${mode} (a RequestMirror's percent is an integer); got ${a.mirrorPercent}`
            : undefined,
        a.timeout !== undefined && !GATEWAY_API_DURATION.test(a.timeout)
            ? `${name("timeout")} must be a Gateway API duration such as "10s", "1m30s" or "500ms" (whole numbers of h, m, s or ms) with ${mode}; got "${a.timeout}"`
            : undefined,
    ];
}

/** The canary's pods are reachable by some route even at weight 0 (header, cookie or mirror). */
export function canaryRoutable(
    a: Pick<CanaryReleaseValues, "canaryWeight" | "canaryHeader" | "canaryCookie" | "mirrorPercent">,
): boolean {
    return (
        (a.canaryWeight ?? D.canaryWeight) > 0 ||
        a.canaryHeader !== undefined ||
        a.canaryCookie !== undefined ||
        (a.mirrorPercent ?? D.mirrorPercent) > 0
    );
}

const HOST = /^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

/** Every rule, in the order their messages are listed. */
const RULES: readonly Rule[] = [
    {
        reads: [],
        check: (a, name) => [
            dnsLabel("app", a.app, name),
            a.app !== undefined && a.app.length > MAX_APP_NAME_LENGTH
                ? `${name("app")} must be at most ${MAX_APP_NAME_LENGTH} characters (Deployments are named <app>-stable and <app>-canary); got ${a.app.length}`
                : undefined,
            dnsLabel("namespace", a.namespace, name),
            dnsLabel("istioRevision", a.istioRevision, name),
            ...(a.exportTo ?? []).map((n) =>
                n === "*" || DNS_LABEL.test(n)
                    ? undefined
                    : `${name("exportTo")} must hold namespaces (DNS-1123 labels) or "*"; got "${n}"`,
            ),
        ],
    },
    track("stable"),
    track("canary"),
    intField("canaryWeight", ["canaryWeight"]),
    intField("replicas", ["replicas"]),
    intField("canaryReplicas", ["canaryReplicas"]),
    intField("containerPort"),
    intField("servicePort"),
    intField("runAsUser"),
    intField("rolloutTimeoutSeconds"),
    {
        reads: [],
        check: (a, name) => {
            const mirror = a.mirrorPercent ?? D.mirrorPercent;
            return [
                oneOfProblem(name("protocol"), a.protocol, APP_PROTOCOLS),
                oneOfProblem(name("routingApi"), a.routingApi, ROUTING_APIS),
                oneOfProblem(name("podSecurityEnforce"), a.podSecurityEnforce, POD_SECURITY_LEVELS),
                oneOfProblem(name("tlsMinVersion"), a.tlsMinVersion, TLS_MIN_VERSIONS),
                ...principalProblems(name("allowedPrincipals"), a.allowedPrincipals ?? []),
                Number.isFinite(mirror) && mirror >= 0 && mirror <= 100
                    ? undefined
                    : `${name("mirrorPercent")} must be a number from 0 to 100; got ${mirror}`,
            ];
        },
    },
    {
        reads: ["hosts"],
        check: (a, name) => [
            a.hosts === undefined || a.hosts.length === 0
                ? `${name("hosts")} must list at least one host name, such as ["app.example.com"]`
                : undefined,
            ...(a.hosts ?? []).map((host) =>
                HOST.test(host)
                    ? undefined
                    : `${name("hosts")} must hold DNS names such as "app.example.com" or "*.example.com"; got "${host}"`,
            ),
        ],
    },
    {
        reads: [],
        check: (a, name) => [
            a.canaryHeader !== undefined && !HEADER_NAME.test(a.canaryHeader.name)
                ? `${name("canaryHeader")} must be an HTTP header name such as "x-canary"; got "${a.canaryHeader.name}"`
                : undefined,
            a.canaryHeader !== undefined && !HEADER_VALUE.test(a.canaryHeader.value)
                ? `${name("canaryHeader")} value must be ${HEADER_VALUE_ACCEPTS}; got ${JSON.stringify(a.canaryHeader.value)}`
                : undefined,
            a.canaryCookie !== undefined && !HEADER_NAME.test(a.canaryCookie.name)
                ? `${name("canaryCookie")} must be name=value with a cookie name such as "version=v2"; got "${a.canaryCookie.name}=${a.canaryCookie.value}"`
                : undefined,
            a.sessionAffinity !== undefined && !HEADER_NAME.test(a.sessionAffinity.cookieName ?? "")
                ? `${name("sessionAffinity.cookieName")} must be a cookie name such as "canary-session"; got ${JSON.stringify(a.sessionAffinity.cookieName)}`
                : undefined,
            a.sessionAffinity?.maxAgeSeconds !== undefined
                ? intProblem(
                      name("sessionAffinity.maxAgeSeconds"),
                      a.sessionAffinity.maxAgeSeconds,
                      L.sessionAffinityMaxAgeSeconds,
                  )
                : undefined,
            ...(
                [
                    ["timeout", a.timeout],
                    ["retries.perTryTimeout", a.retries?.perTryTimeout],
                ] as const
            ).map(([field, value]) =>
                value !== undefined && !isDuration(value)
                    ? `${name(field)} must be ${DURATION_ACCEPTS}; got "${value}"`
                    : undefined,
            ),
            ...(a.retries === undefined
                ? []
                : [
                      intProblem(name("retries.attempts"), a.retries.attempts, L.retryAttempts),
                      ...(a.retries.retryOn !== undefined
                          ? retryOnProblems(name("retries.retryOn"), a.retries.retryOn)
                          : []),
                  ]),
            ...tlsProblems(a, name),
        ],
    },
    {
        reads: ["canaryWeight"],
        check: (a, name) => [
            a.canary === undefined && (a.canaryWeight ?? D.canaryWeight) > 0
                ? `${name("canaryWeight")} must be 0 while no canary is set (set ${name("canary")} first); got ${a.canaryWeight}`
                : undefined,
        ],
    },
    { reads: ["replicas"], check: autoscalingProblems },
    { reads: [], check: gatewayApiProblems },
    {
        reads: ["canaryReplicas", "canaryWeight"],
        check: (a, name) => [
            (a.canaryReplicas ?? D.canaryReplicas) === 0 && canaryRoutable(a)
                ? `${name("canaryReplicas")} must be at least 1 while traffic can reach the canary (${name("canaryWeight")} above 0, ` +
                  `${name("canaryHeader")}, ${name("canaryCookie")} or ${name("mirrorPercent")}); got 0`
                : undefined,
        ],
    },
];

/** TLS is a certificate and key, or an existing secret: which one is known even when the values are Outputs. */
function tlsProblems(a: CanaryReleaseValues, name: Namer): (string | undefined)[] {
    const tls = a.tls ?? {};
    const pair = tls.cert !== undefined || tls.key !== undefined;
    if (pair && tls.secretName !== undefined) {
        return [`${name("tls")} must set either secretName or cert and key, not both`];
    }
    if (!pair && tls.secretName === undefined) {
        return [`${name("tls")} must set cert and key (PEM) or secretName (an existing kubernetes.io/tls Secret)`];
    }
    return [
        pair && (tls.cert === undefined || tls.key === undefined)
            ? `${name("tls")} must set cert and key together`
            : undefined,
    ];
}

function run(rules: readonly Rule[], a: CanaryReleaseValues, name: Namer): string[] {
    return rules.flatMap((r) => r.check(a, name)).filter((p): p is string => p !== undefined);
}

/**
 * Returns the problems of `args` that can be seen now, each naming the field (through `name`) and its accepted
 * values: every rule whose Input fields are known. Empty means nothing known is wrong; rules on Outputs run in
 * checkedInputs. Fields that shape resources (all but the Input fields and the TLS, gateway and env values)
 * must be known.
 */
export function validateCanaryReleaseArgs(args: CanaryReleaseArgs, name: Namer = (f) => f): string[] {
    const unknownShape = (Object.keys(args) as (keyof CanaryReleaseArgs)[]).filter(
        (f) =>
            !(INPUT_FIELDS as readonly string[]).includes(f) &&
            (PASS_THROUGH_FIELDS.includes(f as (typeof PASS_THROUGH_FIELDS)[number])
                ? pulumi.Output.isInstance(args[f])
                : !isKnown(args[f])),
    );
    if (unknownShape.length > 0) {
        return unknownShape.map(
            (f) =>
                `${name(f as CanaryReleaseField)} must be a known value, not an Output: it decides which resources exist and what they are named`,
        );
    }
    const unknown = INPUT_FIELDS.filter((f) => !isKnown(args[f]));
    // Rules only read Input fields they declare, and those are known here: the rest of `args` is plain.
    const known = RULES.filter((r) => r.reads.every((f) => !unknown.includes(f)));
    return run(known, args as unknown as CanaryReleaseValues, name);
}

/**
 * `fields` of `args` resolved and checked by every rule that reads them (the others they read being known), with
 * the messages validateCanaryReleaseArgs gives. The Output fails with `fail(message)` on a problem, so no resource
 * built from it is registered with a bad value.
 */
export function checkedInputs<F extends InputField>(
    args: CanaryReleaseArgs,
    fields: readonly F[],
    fail: (message: string) => Error,
): pulumi.Output<Pick<CanaryReleaseValues, F>> {
    const group = Object.fromEntries(fields.map((f) => [f, args[f]])) as Pick<CanaryReleaseArgs, F>;
    const rules = RULES.filter(
        (r) =>
            r.reads.some((f) => (fields as readonly InputField[]).includes(f)) &&
            r.reads.every((f) => (fields as readonly InputField[]).includes(f) || isKnown(args[f])),
    );
    const values = pulumi.output(group);
    // Messages quote the values they reject ("; got ..."), except secret ones.
    const secret = pulumi.output(pulumi.isSecret(values));
    return pulumi.all([values, secret]).apply(([resolved, isSecret]) => {
        const problems = run(rules, { ...args, ...(resolved as object) } as unknown as CanaryReleaseValues, (f) => f);
        if (problems.length > 0) {
            const shown = isSecret
                ? problems.map((p) => p.replace(/; got .*$/s, "; got a secret value (not shown)"))
                : problems;
            throw fail(describeProblems(shown));
        }
        return resolved as unknown as Pick<CanaryReleaseValues, F>;
    });
}

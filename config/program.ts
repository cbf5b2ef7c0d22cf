/**
 * The program's stack config: every `istio-canary:*` key, read straight into the shapes the components take
 * ({@link IstioMeshArgs}, {@link CanaryReleaseValues}), plus the release policy and the release state.
 *
 * Pure: it takes the raw config map and the set of secret keys, and returns the components' arguments or the full
 * list of problems. Defaults and integer ranges come from the components (`CANARY_RELEASE_DEFAULTS`,
 * `ISTIO_MESH_DEFAULTS`, ...), so each is written once; the README's reference is generated from the same reads.
 */
import { CANARY_RELEASE_DEFAULTS, CanaryReleaseValues, TlsValues } from "../components/canary-release-args";
import { validateCanaryReleaseArgs } from "../components/canary-release-rules";
import {
    injectionWithoutCniProblem,
    ISTIO_MESH_DEFAULTS,
    IstioMeshArgs,
    validateIstioMeshArgs,
} from "../components/istio-mesh";
import { checkTlsPair } from "../components/tls";
import { readMesh } from "./mesh-keys";
import { readPolicy, ReleasePolicy } from "./policy";
import { ConfigError, KeySpec, Reader } from "./reader";
import { readRelease, TlsKeys } from "./release-keys";
import { readState, ReleaseState, routedMirrorPercent } from "./release-state";

/** Everything the program needs, typed and validated. */
export interface ProgramConfig {
    mesh: IstioMeshArgs;
    /** Override of the gateway pods' labels (Istio not installed by us, labels not derivable). */
    gatewaySelector?: Record<string, string>;
    /** Override of the gateway pods' service account (Istio not installed by us). */
    gatewayServiceAccount?: string;
    /** Everything of {@link CanaryReleaseValues} except where the gateway runs, which comes from the mesh. */
    release: Omit<CanaryReleaseValues, "gateway">;
    /** How the release bot releases on this stack. */
    policy: ReleasePolicy;
    /** What the release bot last recorded. */
    state: ReleaseState;
    /** The user's own mirrorPercent: what the program routes whenever no release is in its mirror phase. */
    userMirrorPercent: number;
    /** Non-blocking findings (e.g. a certificate that does not cover a host). */
    warnings: string[];
}

const TLS_REQUIRED =
    "TLS is required: set tlsCert and tlsKey (PEM, as secrets) or tlsSecretName (an existing kubernetes.io/tls Secret in the gateway namespace)";

/** TLS from the keys: a secret name, or a certificate and key (checked). */
function resolveTls(r: Reader, tls: TlsKeys, hosts: string[], warnings: string[]): TlsValues | undefined {
    if (tls.secretName !== undefined) {
        if (tls.cert !== undefined || tls.key !== undefined) {
            r.problems.push("set either tlsSecretName or tlsCert and tlsKey, not both");
        }
        return { secretName: tls.secretName };
    }
    if (tls.cert !== undefined && tls.key !== undefined) {
        const check = checkTlsPair(tls.cert, tls.key, hosts);
        r.problems.push(...check.problems);
        warnings.push(...check.warnings);
        return { cert: tls.cert, key: tls.key };
    }
    r.problems.push(TLS_REQUIRED);
    return undefined;
}

/** Reads every key in README order; returns the whole config with its problems recorded in `r`. */
function readAll(r: Reader): ProgramConfig {
    const { release: keys, tls: tlsKeys, userMirror } = readRelease(r);
    const { mesh: meshKeys, gatewaySelector, gatewayServiceAccount } = readMesh(r);
    // Istio CNI follows the app namespace's Pod Security level unless set: injected pods meet "restricted" (and
    // "baseline") only with it.
    const appLevel = keys.podSecurityEnforce ?? CANARY_RELEASE_DEFAULTS.podSecurityEnforce;
    const mesh: IstioMeshArgs = { ...meshKeys, cni: meshKeys.cni ?? appLevel !== "privileged" };
    const policy = readPolicy(r);
    const state = readState(r);
    const warnings: string[] = [];
    r.problems.push(...r.unknownKeys());
    const tls = resolveTls(r, tlsKeys, keys.hosts, warnings);
    const release: Omit<CanaryReleaseValues, "gateway"> = {
        ...keys,
        // The stable's replicas as the bot pinned them for its updates (else the component reads them live).
        ...(keys.autoscaling !== undefined && state.stableReplicas !== undefined
            ? { autoscaling: { ...keys.autoscaling, stableReplicas: state.stableReplicas } }
            : {}),
        istioRevision: mesh.revision,
        // A placeholder only when TLS_REQUIRED is recorded: then no rule runs, and parseConfig throws.
        // Stryker disable next-line ObjectLiteral,StringLiteral
        tls: tls ?? { secretName: "" },
        mirrorPercent: routedMirrorPercent(state, policy.mirrorPercent, userMirror),
    };
    // Semantic rules shared with the components (library users get the same checks), with the components' fields
    // named by our keys. Only run on keys that parsed, so one bad value is reported once.
    if (r.problems.length === 0) {
        r.problems.push(...validateIstioMeshArgs(mesh, r.fieldNamer("mesh")));
        const noCni =
            (mesh.install ?? ISTIO_MESH_DEFAULTS.install) &&
            injectionWithoutCniProblem(mesh.cni ?? ISTIO_MESH_DEFAULTS.cni, appLevel, {
                cni: r.fieldNamer("mesh")("cni"),
                level: r.fieldNamer("release")("podSecurityEnforce"),
            });
        if (noCni) {
            r.problems.push(noCni);
        }
        r.problems.push(
            ...validateCanaryReleaseArgs(
                // No rule reads the gateway (a pass-through field, only checked for being an Output).
                // Stryker disable next-line StringLiteral
                { ...release, gateway: { namespace: "", selector: {} } },
                r.fieldNamer("release"),
            ),
        );
    }
    return {
        mesh,
        gatewaySelector,
        gatewayServiceAccount,
        release,
        policy,
        state,
        userMirrorPercent: userMirror,
        warnings: [...r.warnings, ...warnings],
    };
}

/**
 * Parses and validates the stack config. `raw` holds our keys without the namespace (see namespace.ts);
 * `secretKeys` the ones set with `--secret`. Throws a {@link ConfigError} listing every problem.
 */
export function parseConfig(raw: Record<string, string>, secretKeys: ReadonlySet<string> = new Set()): ProgramConfig {
    const r = new Reader(raw, secretKeys);
    const config = readAll(r);
    if (r.problems.length > 0) {
        throw new ConfigError(r.redact(r.problems));
    }
    return { ...config, warnings: r.redact(config.warnings) };
}

/** The documented keys, in declaration order (README config reference, CLI flags). */
export function configKeySpecs(): KeySpec[] {
    const r = new Reader({});
    readAll(r);
    return r.specs;
}

/**
 * Istio's security objects for one application (security.istio.io/v1): a PeerAuthentication that accepts only
 * mutual TLS on the app's pods, and an AuthorizationPolicy that lets only the ingress gateway (and the principals
 * a user lists) call them. Pure: tested without mocks.
 *
 * Principals are written with the trust domain "cluster.local", which Istio reads as "the mesh's own trust domain
 * and its aliases" (istiod rewrites it), so the policies hold in a mesh with another trust domain too.
 */

/** The API version of Istio's security objects. */
export const ISTIO_SECURITY_API_VERSION = "security.istio.io/v1";

/** The trust domain Istio's policies use for the local one (istiod replaces it with the mesh's, and its aliases). */
export const LOCAL_TRUST_DOMAIN = "cluster.local";

/** The principal of a service account, as AuthorizationPolicies name it: `cluster.local/ns/<ns>/sa/<sa>`. */
export function principal(namespace: string, serviceAccount: string): string {
    return `${LOCAL_TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * An AuthorizationPolicy principal: no whitespace or control characters; "*" alone, or one "*" at its start or
 * its end (Istio's prefix, suffix and presence matches).
 */
// eslint-disable-next-line no-control-regex
export const PRINCIPAL = /^(\*|\*?[^\s*\u0000-\u001f\u007f]+|[^\s*\u0000-\u001f\u007f]+\*)$/;

/** What a principal field accepts, for messages and docs. */
export const PRINCIPAL_ACCEPTS =
    'Istio principals such as "cluster.local/ns/shop/sa/frontend" (no whitespace or control characters; "*" alone, ' +
    'or one "*" at the start or the end)';

/** Problems of a list of principals (empty when each is one), naming `field`. */
export function principalProblems(field: string, principals: readonly string[]): string[] {
    return principals
        .filter((p) => !PRINCIPAL.test(p))
        .map((p) => `${field} must hold ${PRINCIPAL_ACCEPTS}; got ${JSON.stringify(p)}`);
}

/** Labels that select every pod of the app, both tracks. */
function appSelector(app: string): { matchLabels: Record<string, string> } {
    return { matchLabels: { app } };
}

/** A PeerAuthentication's spec. */
export interface PeerAuthenticationSpec {
    selector: { matchLabels: Record<string, string> };
    mtls: { mode: "STRICT" };
}

/**
 * Mutual TLS only (STRICT) on the app's pods. Scoped to the app's pods rather than the whole namespace: a
 * workload's policy takes precedence over a namespace-wide one (which an existing namespace may already have), and
 * other workloads of a shared namespace keep theirs.
 */
export function buildPeerAuthenticationSpec(app: string): PeerAuthenticationSpec {
    return { selector: appSelector(app), mtls: { mode: "STRICT" } };
}

/** An AuthorizationPolicy's spec. */
export interface AuthorizationPolicySpec {
    selector: { matchLabels: Record<string, string> };
    action: "ALLOW";
    rules: { from: { source: { principals: string[] } }[] }[];
}

/**
 * Only these principals may call the app's pods (an ALLOW policy: any other caller is denied, plaintext callers
 * included, as they have no principal). `principals` in order, each once.
 */
export function buildAuthorizationPolicySpec(app: string, principals: readonly string[]): AuthorizationPolicySpec {
    return {
        selector: appSelector(app),
        action: "ALLOW",
        rules: [{ from: [{ source: { principals: [...new Set(principals)] } }] }],
    };
}

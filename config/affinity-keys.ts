/**
 * The session affinity keys (in the "Traffic" group of the README's reference): the component's `sessionAffinity`,
 * off unless `sessionAffinity` names a cookie. Defaults and ranges are the component's own.
 */
import {
    CANARY_RELEASE_DEFAULTS as D,
    CANARY_RELEASE_LIMITS as L,
    SessionAffinityArgs,
} from "../components/canary-release-args";
import { Grammar } from "./grammar";
import { HEADER_NAME } from "../components/validation";
import { Reader } from "./reader";

const COOKIE_NAME: Grammar = {
    accepts:
        'a cookie name such as "canary-session" (an HTTP token: letters, digits and !#$%&\'*+-.^_`|~, at most 256)',
    pattern: HEADER_NAME,
};

/** Reads the session affinity keys: the component's `sessionAffinity`, or undefined when off. */
export function readSessionAffinity(r: Reader): { sessionAffinity?: SessionAffinityArgs } {
    const cookieName = r.string("sessionAffinity", {
        ...COOKIE_NAME,
        doc:
            "Session affinity: while the canary has weight, its responses set this cookie (value: the canary's " +
            "version) and requests carrying it go to the canary, so a user stays on the version first reached; at " +
            "weight 0 (a rollback) the route and the cookie go, and holders are back on stable.",
        field: "release.sessionAffinity.cookieName",
    });
    const maxAgeSeconds = r.int("sessionAffinityMaxAge", {
        doc: "Lifetime of the session affinity cookie in seconds (its Max-Age).",
        limits: L.sessionAffinityMaxAgeSeconds,
        def: D.sessionAffinityMaxAgeSeconds,
        field: "release.sessionAffinity.maxAgeSeconds",
    });
    return cookieName === undefined ? {} : { sessionAffinity: { cookieName, maxAgeSeconds } };
}

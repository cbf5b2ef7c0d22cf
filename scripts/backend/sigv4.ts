/**
 * AWS Signature Version 4 for S3 requests (the Authorization header form), as the S3 API reference's "Signature
 * Calculations for the Authorization Header" describes it: canonical request -> string to sign -> HMAC-SHA256 with
 * a key derived from the secret, the date, the region and the service. Pure: the tests check it against the
 * examples of that page. Used by scripts/backend/s3.ts, the small S3 client of the tests' state backend.
 */
import { createHash, createHmac } from "crypto";

export interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
}

/** One request to sign. `path` is the URI path as sent, not yet encoded; `query` the parameters in any order. */
export interface SigningRequest {
    method: string;
    path: string;
    query?: [string, string][];
    /** Every header to sign (names in any case); must include host, x-amz-date and x-amz-content-sha256. */
    headers: Record<string, string>;
    /** Hex SHA-256 of the body (the x-amz-content-sha256 value). */
    payloadHash: string;
    region: string;
    service?: string;
}

export const ALGORITHM = "AWS4-HMAC-SHA256";

export function sha256Hex(data: string | Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/**
 * RFC 3986 percent-encoding as SigV4 wants it: every byte but the unreserved characters (A-Z a-z 0-9 - _ . ~),
 * upper-case hex; `/` is kept in a path (`keepSlash`) and encoded in a query.
 */
export function uriEncode(s: string, keepSlash = false): string {
    let out = "";
    for (const byte of Buffer.from(s, "utf8")) {
        const c = String.fromCharCode(byte);
        if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) {
            out += c;
        } else {
            out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
        }
    }
    return out;
}

/** The canonical query string: each name and value encoded, sorted by name (then value), `name=value` joined by &. */
export function canonicalQuery(query: [string, string][] = []): string {
    return query
        .map(([k, v]) => [uriEncode(k), uriEncode(v)])
        .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
}

/** `20130524T000000Z` of a Date (UTC). */
export function amzDate(d: Date): string {
    return d
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
}

function signedHeaderNames(headers: Record<string, string>): string[] {
    return Object.keys(headers)
        .map((h) => h.toLowerCase())
        .sort();
}

/** The canonical request (method, path, query, headers, signed header names, payload hash), one per line. */
export function canonicalRequest(r: SigningRequest): string {
    const lower = Object.fromEntries(
        Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, " ")]),
    );
    const names = signedHeaderNames(r.headers);
    return [
        r.method.toUpperCase(),
        uriEncode(r.path === "" ? "/" : r.path, true),
        canonicalQuery(r.query),
        ...names.map((n) => `${n}:${lower[n]}`),
        "",
        names.join(";"),
        r.payloadHash,
    ].join("\n");
}

/** The value of the Authorization header for `r`, signed with `creds` at the request's x-amz-date. */
export function authorization(r: SigningRequest, creds: Credentials): string {
    const date = Object.entries(r.headers).find(([k]) => k.toLowerCase() === "x-amz-date")?.[1];
    if (date === undefined || !/^\d{8}T\d{6}Z$/.test(date)) {
        throw new Error(`the request to sign needs an x-amz-date header like 20130524T000000Z (got ${String(date)})`);
    }
    const day = date.slice(0, 8);
    const service = r.service ?? "s3";
    const scope = `${day}/${r.region}/${service}/aws4_request`;
    const stringToSign = [ALGORITHM, date, scope, sha256Hex(canonicalRequest(r))].join("\n");
    const key = [day, r.region, service, "aws4_request"].reduce<string | Buffer>(
        (k, part) => hmac(k, part),
        `AWS4${creds.secretAccessKey}`,
    );
    const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
    return `${ALGORITHM} Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaderNames(r.headers).join(";")},Signature=${signature}`;
}

/**
 * The tests' shared state backend on S3: the backend URL Pulumi's DIY backend takes for an S3-compatible store, and
 * a small S3 client (plain HTTP, SigV4 from ./sigv4) that creates the bucket and reads what Pulumi wrote into it.
 *
 *   node -r ./stacks/preload.js scripts/backend/s3.ts create-bucket <backend URL>
 *
 * creates the URL's bucket (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), retrying while the store
 * starts (scripts/backend/seaweedfs.sh runs it). The secret is never printed.
 */
import * as http from "http";
import { amzDate, authorization, canonicalQuery, Credentials, sha256Hex, uriEncode } from "./sigv4";

/** Where the DIY backend keeps its objects in an S3-compatible store. */
export interface S3Backend {
    bucket: string;
    /** host:port of the S3 API (plain HTTP). */
    endpoint: string;
    region: string;
}

/**
 * The PULUMI_BACKEND_URL of a bucket on an S3-compatible store reached over plain HTTP on `endpoint`, with
 * path-style addressing (`http://<endpoint>/<bucket>/<key>`: no DNS name per bucket).
 */
export function s3BackendUrl(b: S3Backend): string {
    return `s3://${b.bucket}?endpoint=${b.endpoint}&s3ForcePathStyle=true&disableSSL=true&region=${b.region}`;
}

/** Reads back a URL of {@link s3BackendUrl}'s form; any other URL is refused with what it lacks. */
export function parseS3BackendUrl(url: string): S3Backend {
    const m = /^s3:\/\/([^?/]+)\?(.*)$/.exec(url);
    const form = "s3://<bucket>?endpoint=<host:port>&s3ForcePathStyle=true&disableSSL=true&region=<region>";
    if (m === null) {
        throw new Error(`The backend URL "${url}" is not of the form ${form}.`);
    }
    const params = new URLSearchParams(m[2]);
    const endpoint = params.get("endpoint") ?? "";
    if (!/^[^\s/:]+:\d+$/.test(endpoint)) {
        throw new Error(`The backend URL "${url}" needs endpoint=<host:port> (the S3 API's address), as in ${form}.`);
    }
    for (const flag of ["s3ForcePathStyle", "disableSSL"]) {
        if (params.get(flag) !== "true") {
            throw new Error(`The backend URL "${url}" needs ${flag}=true (this client speaks plain HTTP, path-style).`);
        }
    }
    return { bucket: m[1], endpoint, region: params.get("region") ?? "us-east-1" };
}

/** The credentials of the environment (what Pulumi's S3 backend reads too); refused, naming them, when missing. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials {
    const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
    if (accessKeyId === "" || secretAccessKey === "") {
        throw new Error(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set to reach the S3 backend (scripts/backend/seaweedfs.sh exports them).",
        );
    }
    return { accessKeyId, secretAccessKey };
}

/**
 * The environment a Pulumi command needs to keep its stack on the run's S3 backend: PULUMI_BACKEND_URL from
 * E2E_S3_BACKEND_URL (what scripts/backend/seaweedfs.sh exports) and the credentials, each checked.
 */
export function s3BackendEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const url = env.E2E_S3_BACKEND_URL ?? "";
    if (url === "") {
        throw new Error(
            "E2E_S3_BACKEND_URL is not set: start the S3 backend with scripts/backend/with-s3.sh (npm run test:e2e and npm run bench:backend do).",
        );
    }
    parseS3BackendUrl(url);
    const creds = credentialsFromEnv(env);
    return {
        PULUMI_BACKEND_URL: url,
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    };
}

export interface S3Response {
    status: number;
    body: string;
}

/** Decodes the five XML entities (S3's listings escape keys). */
function xmlText(s: string): string {
    return s
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&");
}

/** A minimal S3 client: signed requests over plain HTTP, path-style. */
export class S3Client {
    constructor(
        readonly backend: S3Backend,
        private readonly creds: Credentials,
        private readonly now: () => Date = () => new Date(),
    ) {}

    static fromUrl(url: string, env: NodeJS.ProcessEnv = process.env): S3Client {
        return new S3Client(parseS3BackendUrl(url), credentialsFromEnv(env));
    }

    /** One signed request; `path` starts with `/<bucket>`. */
    request(method: string, path: string, query: [string, string][] = [], body = ""): Promise<S3Response> {
        const payloadHash = sha256Hex(body);
        const headers: Record<string, string> = {
            host: this.backend.endpoint,
            "x-amz-content-sha256": payloadHash,
            "x-amz-date": amzDate(this.now()),
        };
        headers.authorization = authorization(
            { method, path, query, headers, payloadHash, region: this.backend.region },
            this.creds,
        );
        const [host, port] = this.backend.endpoint.split(":");
        // Sent exactly as signed: the canonical path and query.
        const search = canonicalQuery(query);
        return new Promise((resolve, reject) => {
            const req = http.request(
                {
                    host,
                    port: Number(port),
                    method,
                    path: `${uriEncode(path, true)}${search === "" ? "" : `?${search}`}`,
                    headers: { ...headers, "content-length": Buffer.byteLength(body) },
                    timeout: 10_000,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () =>
                        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
                    );
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${path} on ${this.backend.endpoint} timed out`)));
            req.on("error", reject);
            req.end(body);
        });
    }

    /** Creates the bucket; one that exists already (and is ours) is fine. */
    async createBucket(): Promise<void> {
        const r = await this.request("PUT", `/${this.backend.bucket}`);
        if (r.status !== 200 && !/BucketAlreadyOwnedByYou/.test(r.body)) {
            throw new Error(`creating bucket ${this.backend.bucket} answered ${r.status}: ${r.body.slice(0, 300)}`);
        }
    }

    /** Every key under `prefix` (ListObjectsV2, page after page). */
    async listKeys(prefix = ""): Promise<string[]> {
        const keys: string[] = [];
        let token: string | undefined;
        do {
            const query: [string, string][] = [
                ["list-type", "2"],
                ["prefix", prefix],
            ];
            if (token !== undefined) {
                query.push(["continuation-token", token]);
            }
            const r = await this.request("GET", `/${this.backend.bucket}`, query);
            if (r.status !== 200) {
                throw new Error(
                    `listing ${this.backend.bucket}/${prefix} answered ${r.status}: ${r.body.slice(0, 300)}`,
                );
            }
            keys.push(...[...r.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlText(m[1])));
            const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(r.body);
            token = /<IsTruncated>true<\/IsTruncated>/.test(r.body) && next !== null ? xmlText(next[1]) : undefined;
        } while (token !== undefined);
        return keys;
    }

    /** An object's content. */
    async getObject(key: string): Promise<string> {
        const r = await this.request("GET", `/${this.backend.bucket}/${key}`);
        if (r.status !== 200) {
            throw new Error(`reading ${this.backend.bucket}/${key} answered ${r.status}: ${r.body.slice(0, 300)}`);
        }
        return r.body;
    }
}

/** Creates the bucket, retrying for up to `timeoutMs` while the store starts (connection refused, 5xx). */
export async function createBucketWhenReady(client: S3Client, timeoutMs = 60_000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
        try {
            await client.createBucket();
            return Date.now() - t0;
        } catch (e) {
            if (Date.now() - t0 > timeoutMs) {
                throw new Error(
                    `the S3 API on ${client.backend.endpoint} did not create bucket ${client.backend.bucket} within ${timeoutMs / 1000} s: ${(e as Error).message}`,
                );
            }
            await new Promise((r) => setTimeout(r, 200));
        }
    }
}

if (require.main === module) {
    const [verb, url] = process.argv.slice(2);
    if (verb !== "create-bucket" || url === undefined) {
        console.error("usage: s3.ts create-bucket <backend URL>");
        process.exit(2);
    }
    createBucketWhenReady(S3Client.fromUrl(url)).then(
        (ms) => console.error(`bucket ${parseS3BackendUrl(url).bucket} ready after ${ms} ms`),
        (e: unknown) => {
            console.error(e instanceof Error ? e.message : String(e));
            process.exit(1);
        },
    );
}

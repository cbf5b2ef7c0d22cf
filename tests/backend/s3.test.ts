/**
 * The tests' S3 backend helpers (scripts/backend/s3.ts): the backend URL Pulumi gets, and the S3 client against a
 * local HTTP server that checks each request's signature the way an S3 server does (from the request as received).
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import {
    createBucketWhenReady,
    credentialsFromEnv,
    parseS3BackendUrl,
    S3Client,
    s3BackendEnv,
    s3BackendUrl,
} from "../../scripts/backend/s3";
import { authorization } from "../../scripts/backend/sigv4";

const CREDS = { accessKeyId: "test-key", secretAccessKey: "test/secret+key" };

interface Seen {
    method: string;
    url: string;
    signatureOk: boolean;
}

/** A fake S3 endpoint: `answer` decides each response; every request's Authorization is checked against CREDS. */
async function fakeS3(answer: (req: http.IncomingMessage, url: URL) => [number, string]) {
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
        const url = new URL(req.url!, "http://x");
        const query = [...url.searchParams.entries()];
        const signed = /SignedHeaders=([^,]+)/.exec(req.headers.authorization ?? "")?.[1].split(";") ?? [];
        const headers = Object.fromEntries(signed.map((h) => [h, String(req.headers[h])]));
        const expected = authorization(
            {
                method: req.method!,
                path: decodeURIComponent(url.pathname),
                query,
                headers,
                payloadHash: String(req.headers["x-amz-content-sha256"]),
                region: "us-east-1",
            },
            CREDS,
        );
        seen.push({ method: req.method!, url: req.url!, signatureOk: expected === req.headers.authorization });
        const [status, body] = answer(req, url);
        res.writeHead(status).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { seen, endpoint, close: () => new Promise((r) => server.close(r)) };
}

describe("the tests' S3 backend (scripts/backend/s3.ts)", () => {
    it("builds the DIY backend URL of a bucket on a plain-HTTP, path-style endpoint, and reads it back", () => {
        const b = { bucket: "istio-canary-e2e", endpoint: "127.0.0.1:18333", region: "us-east-1" };
        const url = s3BackendUrl(b);
        assert.strictEqual(
            url,
            "s3://istio-canary-e2e?endpoint=127.0.0.1:18333&s3ForcePathStyle=true&disableSSL=true&region=us-east-1",
        );
        assert.deepStrictEqual(parseS3BackendUrl(url), b);
    });

    it("refuses a backend URL it cannot use, saying what is missing", () => {
        assert.throws(
            () => parseS3BackendUrl("file:///tmp/x"),
            /"file:\/\/\/tmp\/x" is not of the form s3:\/\/<bucket>\?endpoint=/,
        );
        assert.throws(
            () => parseS3BackendUrl("s3://b?s3ForcePathStyle=true&disableSSL=true"),
            /needs endpoint=<host:port>/,
        );
        assert.throws(
            () => parseS3BackendUrl("s3://b?endpoint=127.0.0.1:1&disableSSL=true"),
            /needs s3ForcePathStyle=true/,
        );
        assert.throws(
            () => parseS3BackendUrl("s3://b?endpoint=127.0.0.1:1&s3ForcePathStyle=true&disableSSL=false"),
            /needs disableSSL=true/,
        );
    });

    it("takes credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and names both when one is missing", () => {
        assert.deepStrictEqual(credentialsFromEnv({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }), {
            accessKeyId: "a",
            secretAccessKey: "b",
        });
        assert.throws(
            () => credentialsFromEnv({ AWS_ACCESS_KEY_ID: "a" }),
            /^Error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set/,
        );
    });

    it("gives Pulumi the run's backend: PULUMI_BACKEND_URL and the credentials, or an error naming what is missing", () => {
        const url = "s3://b?endpoint=127.0.0.1:18333&s3ForcePathStyle=true&disableSSL=true&region=us-east-1";
        assert.deepStrictEqual(
            s3BackendEnv({ E2E_S3_BACKEND_URL: url, AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s", HOME: "/x" }),
            { PULUMI_BACKEND_URL: url, AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" },
        );
        assert.throws(
            () => s3BackendEnv({ AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" }),
            /^Error: E2E_S3_BACKEND_URL is not set: start the S3 backend with scripts\/backend\/with-s3.sh/,
        );
        assert.throws(
            () =>
                s3BackendEnv({
                    E2E_S3_BACKEND_URL: "file:///tmp/b",
                    AWS_ACCESS_KEY_ID: "k",
                    AWS_SECRET_ACCESS_KEY: "s",
                }),
            /is not of the form s3:/,
        );
        assert.throws(() => s3BackendEnv({ E2E_S3_BACKEND_URL: url }), /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    });

    it("signs what it sends: creates the bucket, lists keys page by page (decoding XML), reads an object", async () => {
        const s3 = await fakeS3((req, url) => {
            if (req.method === "PUT") {
                return [200, ""];
            }
            if (url.pathname === "/b" && url.searchParams.get("continuation-token") === null) {
                return [
                    200,
                    "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>.pulumi/stacks/p/a&amp;b.json</Key></Contents>" +
                        "<NextContinuationToken>t+1/=</NextContinuationToken></ListBucketResult>",
                ];
            }
            if (url.pathname === "/b") {
                return [
                    200,
                    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>.pulumi/stacks/p/c.json</Key></Contents></ListBucketResult>",
                ];
            }
            return decodeURIComponent(url.pathname) === "/b/.pulumi/stacks/p/s 1.json"
                ? [200, '{"version":3}']
                : [404, "NoSuchKey"];
        });
        try {
            const client = new S3Client({ bucket: "b", endpoint: s3.endpoint, region: "us-east-1" }, CREDS);
            await client.createBucket();
            assert.deepStrictEqual(await client.listKeys(".pulumi/stacks/"), [
                ".pulumi/stacks/p/a&b.json",
                ".pulumi/stacks/p/c.json",
            ]);
            assert.strictEqual(await client.getObject(".pulumi/stacks/p/s 1.json"), '{"version":3}');
            await assert.rejects(client.getObject("nope"), /reading b\/nope answered 404: NoSuchKey/);
            assert.deepStrictEqual(
                s3.seen.map((s) => [s.method, s.url, s.signatureOk]),
                [
                    ["PUT", "/b", true],
                    ["GET", "/b?list-type=2&prefix=.pulumi%2Fstacks%2F", true],
                    ["GET", "/b?continuation-token=t%2B1%2F%3D&list-type=2&prefix=.pulumi%2Fstacks%2F", true],
                    ["GET", "/b/.pulumi/stacks/p/s%201.json", true],
                    ["GET", "/b/nope", true],
                ],
            );
        } finally {
            await s3.close();
        }
    });

    it("a bucket that is already ours is fine; any other refusal is an error quoting the store", async () => {
        let answer: [number, string] = [409, "<Error><Code>BucketAlreadyOwnedByYou</Code></Error>"];
        const s3 = await fakeS3(() => answer);
        try {
            const client = new S3Client({ bucket: "b", endpoint: s3.endpoint, region: "us-east-1" }, CREDS);
            await client.createBucket();
            answer = [403, "<Error><Code>SignatureDoesNotMatch</Code></Error>"];
            await assert.rejects(client.createBucket(), /creating bucket b answered 403: .*SignatureDoesNotMatch/);
        } finally {
            await s3.close();
        }
    });

    it("waits for a store that is starting (5xx first), and gives up with the last error after the timeout", async () => {
        let calls = 0;
        const s3 = await fakeS3(() => (++calls < 3 ? [503, "starting"] : [200, ""]));
        try {
            const client = new S3Client({ bucket: "b", endpoint: s3.endpoint, region: "us-east-1" }, CREDS);
            await createBucketWhenReady(client, 10_000);
            assert.strictEqual(calls, 3);
            calls = -1_000_000;
            await assert.rejects(
                createBucketWhenReady(client, 300),
                /did not create bucket b within 0.3 s: creating bucket b answered 503: starting/,
            );
        } finally {
            await s3.close();
        }
    });
});

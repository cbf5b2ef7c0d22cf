/**
 * SigV4 against the worked examples of the S3 API reference ("Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk"): bucket examplebucket, us-east-1, 2013-05-24, the documentation's
 * example key pair. A signature that differs by one byte is refused by every S3 server, so each example checks the
 * whole signature.
 */
import * as assert from "assert";
import {
    amzDate,
    authorization,
    canonicalQuery,
    canonicalRequest,
    SigningRequest,
    sha256Hex,
    uriEncode,
} from "../../scripts/backend/sigv4";

const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const HOST = "examplebucket.s3.amazonaws.com";
const DATE = "20130524T000000Z";
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function get(path: string, query: [string, string][] = [], extra: Record<string, string> = {}): SigningRequest {
    return {
        method: "GET",
        path,
        query,
        headers: { Host: HOST, ...extra, "x-amz-content-sha256": EMPTY, "x-amz-date": DATE },
        payloadHash: EMPTY,
        region: "us-east-1",
    };
}

const signature = (auth: string) => /Signature=([0-9a-f]{64})$/.exec(auth)?.[1];

describe("SigV4 (scripts/backend/sigv4.ts), on the S3 reference's examples", () => {
    it("GET Object with a Range header: the documented canonical request, scope and signature", () => {
        const r = get("/test.txt", [], { Range: "bytes=0-9" });
        assert.strictEqual(
            canonicalRequest(r),
            [
                "GET",
                "/test.txt",
                "",
                `host:${HOST}`,
                "range:bytes=0-9",
                `x-amz-content-sha256:${EMPTY}`,
                `x-amz-date:${DATE}`,
                "",
                "host;range;x-amz-content-sha256;x-amz-date",
                EMPTY,
            ].join("\n"),
        );
        assert.strictEqual(
            authorization(r, CREDS),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
                "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        );
    });

    it("PUT Object: a `$` in the key is encoded, the body's hash and extra x-amz headers are signed", () => {
        const body = "Welcome to Amazon S3.";
        const payloadHash = sha256Hex(body);
        assert.strictEqual(payloadHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        const r: SigningRequest = {
            method: "PUT",
            path: "/test$file.text",
            headers: {
                Host: HOST,
                Date: "Fri, 24 May 2013 00:00:00 GMT",
                "x-amz-date": DATE,
                "x-amz-storage-class": "REDUCED_REDUNDANCY",
                "x-amz-content-sha256": payloadHash,
            },
            payloadHash,
            region: "us-east-1",
        };
        assert.strictEqual(canonicalRequest(r).split("\n")[1], "/test%24file.text");
        assert.strictEqual(
            signature(authorization(r, CREDS)),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        );
    });

    it("GET Bucket Lifecycle: a parameter without a value is signed as `lifecycle=`", () => {
        const r = get("/", [["lifecycle", ""]]);
        assert.strictEqual(canonicalRequest(r).split("\n")[2], "lifecycle=");
        assert.strictEqual(
            signature(authorization(r, CREDS)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        );
    });

    it("GET Bucket (List Objects): the query is sorted before signing, whatever order it came in", () => {
        for (const query of [
            [
                ["max-keys", "2"],
                ["prefix", "J"],
            ],
            [
                ["prefix", "J"],
                ["max-keys", "2"],
            ],
        ] as [string, string][][]) {
            assert.strictEqual(
                signature(authorization(get("/", query), CREDS)),
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            );
        }
    });

    it("a changed byte anywhere (secret, date, path, query) changes the signature", () => {
        const base = signature(authorization(get("/test.txt"), CREDS));
        const variants = [
            authorization(get("/test.txt"), { ...CREDS, secretAccessKey: `${CREDS.secretAccessKey}x` }),
            authorization({ ...get("/test.txt"), region: "eu-west-1" }, CREDS),
            authorization(get("/test.txT"), CREDS),
            authorization(get("/test.txt", [["a", "1"]]), CREDS),
        ].map(signature);
        assert.strictEqual(new Set([base, ...variants]).size, 5);
    });

    it("encodes as SigV4 wants: unreserved characters kept, the rest as upper-case %XX of UTF-8, / only in paths", () => {
        assert.strictEqual(uriEncode("a-b_c.d~e"), "a-b_c.d~e");
        assert.strictEqual(uriEncode("a b+c=d/é!*'()"), "a%20b%2Bc%3Dd%2F%C3%A9%21%2A%27%28%29");
        assert.strictEqual(uriEncode(".pulumi/stacks/p/s 1.json", true), ".pulumi/stacks/p/s%201.json");
        assert.strictEqual(
            canonicalQuery([
                ["prefix", ".pulumi/stacks/"],
                ["list-type", "2"],
                ["continuation-token", "a+b=="],
            ]),
            "continuation-token=a%2Bb%3D%3D&list-type=2&prefix=.pulumi%2Fstacks%2F",
        );
        assert.strictEqual(canonicalQuery([]), "");
    });

    it("formats x-amz-date from a Date in UTC and refuses to sign without one", () => {
        assert.strictEqual(amzDate(new Date(Date.UTC(2013, 4, 24, 0, 0, 0, 999))), DATE);
        assert.strictEqual(amzDate(new Date(Date.UTC(2026, 11, 7, 3, 4, 5))), "20261207T030405Z");
        const { "x-amz-date": _d, ...noDate } = get("/").headers;
        assert.throws(
            () => authorization({ ...get("/"), headers: noDate }, CREDS),
            /the request to sign needs an x-amz-date header like 20130524T000000Z/,
        );
    });
});

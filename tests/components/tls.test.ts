import * as assert from "assert";
import { checkTlsPair } from "../../components/tls";
import { otherPair, shopPair } from "../fixtures/tls";

describe("checkTlsPair", () => {
    it("accepts a matching, current certificate and key covering the hosts", () => {
        const { cert, key } = shopPair();
        assert.deepStrictEqual(checkTlsPair(cert, key, ["shop.example.test"]), { problems: [], warnings: [] });
    });

    it("rejects a key that does not belong to the certificate", () => {
        assert.deepStrictEqual(checkTlsPair(shopPair().cert, otherPair().key).problems, [
            "tlsKey does not match tlsCert: the private key is not the key of the certificate",
        ]);
    });

    it("rejects PEM that does not parse, without quoting the value", () => {
        const result = checkTlsPair(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----",
            "secret-key-text",
        );
        assert.deepStrictEqual(result.problems, [
            'tlsCert must be a PEM-encoded X.509 certificate ("-----BEGIN CERTIFICATE-----"); the value could not be parsed as one',
            'tlsKey must be a PEM-encoded private key ("-----BEGIN PRIVATE KEY-----", RSA or EC); the value could not be parsed as one',
        ]);
        assert.ok(!result.problems.join("\n").includes("secret-key-text"));
    });

    it("rejects a certificate and key swapped", () => {
        const { cert, key } = shopPair();
        assert.strictEqual(checkTlsPair(key, cert).problems.length, 2);
    });

    it("rejects an expired certificate", () => {
        const { cert, key } = shopPair();
        const later = new Date(Date.now() + 400 * 24 * 3600 * 1000);
        const [problem] = checkTlsPair(cert, key, [], later).problems;
        assert.match(problem, /^tlsCert expired on \d{4}-\d\d-\d\dT.*; renew it$/);
    });

    it("warns about hosts the certificate does not cover; wildcard gateway hosts are fine", () => {
        const { cert, key } = shopPair();
        assert.deepStrictEqual(checkTlsPair(cert, key, ["*", "www.example.test"]).warnings, [
            'tlsCert does not cover host "www.example.test"; clients will reject the certificate',
        ]);
    });
});

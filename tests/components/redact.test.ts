import * as assert from "assert";
import {
    hasUserInfo,
    originOf,
    redactDeep,
    redactUrl,
    Redactor,
    secretParts,
    urlSecrets,
} from "../../components/redact";

describe("redaction: one home for what is never shown", () => {
    it("a URL's user information, query values and fragment are redacted wherever it stands in a text", () => {
        assert.strictEqual(
            redactUrl('Prometheus unreachable at "https://bot:pw@prom.example.com/api/?token=T0KEN&a=&flag#k=v"'),
            'Prometheus unreachable at "https://***@prom.example.com/api/?token=***&a=&***#***"',
        );
        assert.strictEqual(redactUrl("(see http://h.example.com/x?k=v)."), "(see http://h.example.com/x?k=***).");
        assert.strictEqual(redactUrl("oci://u@registry.example.com/charts"), "oci://***@registry.example.com/charts");
        assert.strictEqual(redactUrl("no URL here: a=b?c=d"), "no URL here: a=b?c=d");
        assert.strictEqual(hasUserInfo("https://u:p@h/"), true);
        assert.strictEqual(hasUserInfo("https://h/?next=http://u@x/"), false);
    });

    it("an endpoint is shown by its origin only: its path may be a token", () => {
        assert.strictEqual(
            originOf("https://u:p@hooks.example.com:8443/services/T0KEN?x=1"),
            "https://hooks.example.com:8443",
        );
        assert.strictEqual(originOf("oci://registry.example.com/charts"), "oci://registry.example.com");
        assert.strictEqual(originOf("not a url"), "(invalid URL)");
        assert.strictEqual(originOf("file:///etc/passwd"), "(invalid URL)");
    });

    it("known secrets and the tokens of a secret value are replaced in any text", () => {
        assert.deepStrictEqual(urlSecrets("https://u:pa55word@h.example.com/v1/services/T0KEN-abcdef?sig=S1GNATURE"), [
            "pa55word",
            "services",
            "T0KEN-abcdef",
            "S1GNATURE",
        ]);
        const parts = secretParts('[{"name":"a","url":"https://h.example.com/hooks/T0KEN-abcdef"}]');
        assert.ok(parts.includes("T0KEN-abcdef"));
        assert.ok(!parts.includes("a"), "short strings are words, not tokens");
        const r = new Redactor(["T0KEN-abcdef", undefined, " ", "s3cret-value"]);
        assert.strictEqual(
            r.text("got /hooks/T0KEN-abcdef and s3cret-value from http://u:p@h/?q=1"),
            "got /hooks/*** and *** from http://***@h/?q=***",
        );
        assert.deepStrictEqual(redactDeep({ a: ["http://h/?t=x"], n: 1, b: null }), {
            a: ["http://h/?t=***"],
            n: 1,
            b: null,
        });
    });

    it("kept words (key names) are never cut into, but a secret that holds one is still hidden", () => {
        const r = new Redactor(["canary", "app#"], ["canaryHeader", "app"]);
        assert.strictEqual(
            r.text('canaryHeader must be a name; got "app#", and canary is the word'),
            'canaryHeader must be a name; got "***", and *** is the word',
        );
    });
});

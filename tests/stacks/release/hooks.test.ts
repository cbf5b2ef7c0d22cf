import * as assert from "assert";
import { HookSpec } from "../../../config/policy";
import {
    backoffMs,
    DELIVERY_HEADER,
    HookClient,
    PayloadBase,
    signature,
    SIGNATURE_HEADER,
    verifySignature,
} from "../../../stacks/release/hooks";
import { FakeClock } from "../fakes";
import { HookServer } from "./hook-server";

const SECRET = "s3cret-hook-key";
const BASE: PayloadBase = {
    stack: "dev",
    app: "shop",
    namespace: "prod",
    version: "v2",
    image: "registry.example.test/shop:2.0.0",
    phase: "steps",
    weight: 25,
    canaryHeader: { name: "x-canary", value: "always" },
    checks: [{ name: "success-rate", value: 99.9, verdict: "pass", min: 99, unit: "%" }],
};

describe("webhooks: calls against a hook server on 127.0.0.1 (slow, failing, flapping, wrong signature)", function () {
    this.timeout(20000);
    let server: HookServer;
    let url: string;
    let clock: FakeClock;
    const hook = (path: string, extra: Partial<HookSpec> = {}): HookSpec => ({
        name: path.slice(1),
        type: "rollout",
        url: `${url}${path}`,
        timeout: "2s",
        retries: 2,
        ...extra,
    });
    beforeEach(async () => {
        server = new HookServer();
        url = await server.start();
        clock = new FakeClock();
    });
    afterEach(() => server.stop());

    it("POSTs the JSON payload signed with HMAC-SHA256 over the body; the receiver verifies it", async () => {
        server.secret = SECRET;
        const client = new HookClient([], SECRET, clock);
        const c = await client.call(hook("/smoke", { metadata: { team: "shop" } }), BASE);
        assert.strictEqual(c.ok, true);
        assert.strictEqual(c.status, 200);
        assert.strictEqual(c.attempts, 1);
        const [r] = server.received;
        assert.strictEqual(r.signed, true);
        assert.strictEqual(r.headers[SIGNATURE_HEADER.toLowerCase()], signature(SECRET, r.body));
        assert.match(r.headers[SIGNATURE_HEADER.toLowerCase()] as string, /^sha256=[0-9a-f]{64}$/);
        assert.strictEqual(r.headers["content-type"], "application/json");
        const { id, time, ...rest } = r.payload;
        assert.strictEqual(r.headers[DELIVERY_HEADER.toLowerCase()], id);
        assert.match(time, /^2026-11-30T10:00:00\.000Z$/);
        assert.deepStrictEqual(rest, {
            schemaVersion: 1,
            hook: "smoke",
            type: "rollout",
            ...BASE,
            metadata: { team: "shop" },
        });
        assert.ok(!r.body.includes(SECRET), "the secret is never sent");
        assert.ok(!JSON.stringify(client.calls).includes(SECRET), "nor kept for the report");
    });

    it("wrong signature: a receiver with another secret refuses every attempt, and the call fails", async () => {
        server.secret = "another-secret";
        const c = await new HookClient([], SECRET, clock).call(hook("/smoke", { retries: 1 }), BASE);
        assert.strictEqual(c.ok, false);
        assert.strictEqual(c.attempts, 2);
        assert.strictEqual(c.status, 401);
        assert.strictEqual(c.error, "HTTP 401: bad signature");
        assert.deepStrictEqual(
            server.received.map((r) => r.signed),
            [false, false],
        );
        assert.strictEqual(verifySignature(SECRET, server.received[0].body, undefined), false);
        assert.strictEqual(
            verifySignature(SECRET, `${server.received[0].body} `, signature(SECRET, server.received[0].body)),
            false,
        );
    });

    it("failing: retries with exponential backoff (1 s, 2 s), then reports the last status and body", async () => {
        server.answer = () => ({ status: 500, body: "boom\n  down" });
        const t0 = clock.now().getTime();
        const c = await new HookClient([], undefined, clock).call(hook("/smoke"), BASE);
        assert.strictEqual(c.ok, false);
        assert.strictEqual(c.attempts, 3);
        assert.strictEqual(c.error, "HTTP 500: boom down");
        assert.strictEqual(clock.now().getTime() - t0, 3000, "1 s + 2 s of backoff");
        assert.deepStrictEqual([1, 2, 3, 6, 7].map(backoffMs), [1000, 2000, 4000, 30000, 30000]);
        const ids = new Set(server.received.map((r) => r.payload.id));
        assert.strictEqual(ids.size, 1, "every attempt of one call has the same delivery id");
        assert.strictEqual(
            server.received[0].headers[SIGNATURE_HEADER.toLowerCase()],
            undefined,
            "no secret, no signature",
        );
    });

    it("flapping: a failure then a 2xx is a success after two attempts", async () => {
        server.answer = (n) => (n % 2 === 0 ? { status: 502 } : { status: 204 });
        const c = await new HookClient([], undefined, clock).call(hook("/flap"), BASE);
        assert.deepStrictEqual(
            { ok: c.ok, status: c.status, attempts: c.attempts, error: c.error },
            { ok: true, status: 204, attempts: 2, error: undefined },
        );
    });

    it("slow: an attempt past the hook's timeout fails as no answer, and is retried", async () => {
        server.answer = (n) => (n === 0 ? { status: 200, delayMs: 1500 } : { status: 200 });
        const slow = await new HookClient([], undefined, clock).call(
            hook("/slow", { timeout: "1s", retries: 0 }),
            BASE,
        );
        assert.strictEqual(slow.ok, false);
        assert.strictEqual(slow.error, "no answer within 1000 ms");
        assert.strictEqual(slow.status, undefined);
        server.answer = (n, path) => (n === 0 && path === "/slow2" ? { status: 200, delayMs: 1500 } : { status: 200 });
        const retried = await new HookClient([], undefined, clock).call(
            hook("/slow2", { timeout: "1s", retries: 1 }),
            BASE,
        );
        assert.strictEqual(retried.ok, true);
        assert.strictEqual(retried.attempts, 2);
    });

    it("a hang-up or a closed port is a failed attempt with the reason", async () => {
        server.answer = () => ({ hangUp: true });
        const hung = await new HookClient([], undefined, clock).call(hook("/hang", { retries: 0 }), BASE);
        assert.strictEqual(hung.ok, false);
        assert.ok(hung.error !== undefined && hung.error !== "", hung.error);
        await server.stop();
        const closed = await new HookClient([], undefined, clock).call(hook("/x", { retries: 0 }), BASE);
        assert.strictEqual(closed.error, "ECONNREFUSED");
    });

    it("with a deadline, asks until a 2xx or the deadline, whatever the retries", async () => {
        server.answer = (n) => (n < 4 ? { status: 503 } : { status: 200 });
        const until = clock.now().getTime() + 60_000;
        const c = await new HookClient([], undefined, clock).call(hook("/confirm", { retries: 0 }), BASE, { until });
        assert.strictEqual(c.ok, true);
        assert.strictEqual(c.attempts, 5);
        server.answer = () => ({ status: 503 });
        const short = clock.now().getTime() + 10_000;
        const never = await new HookClient([], undefined, clock).call(hook("/never", { retries: 0 }), BASE, {
            until: short,
        });
        assert.strictEqual(never.ok, false);
        assert.strictEqual(never.attempts, 4, "1 + 2 + 4 s of backoff fit in 10 s, 8 more would not");
        assert.ok(clock.now().getTime() <= short);
    });

    it("the report keeps a hook's origin only: a token in its path or query never shows", async () => {
        const client = new HookClient([], undefined, clock);
        const c = await client.call(hook("/hooks/T0KEN-abc?key=T0KEN-def", { name: "notify" }), BASE);
        assert.strictEqual(c.ok, true);
        assert.strictEqual(c.target, url);
        assert.ok(!JSON.stringify(client.calls).includes("T0KEN"));
    });
});

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

    it("POSTs the JSON payload signed with HMAC-SHA256 over a timestamp and the body; the receiver verifies it", async () => {
        server.secret = SECRET;
        const client = new HookClient([], SECRET, clock);
        const c = await client.call(hook("/smoke", { metadata: { team: "shop" } }), BASE);
        assert.strictEqual(c.ok, true);
        assert.strictEqual(c.status, 200);
        assert.strictEqual(c.attempts, 1);
        const [r] = server.received;
        assert.strictEqual(r.signed, true);
        const header = r.headers[SIGNATURE_HEADER.toLowerCase()] as string;
        assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
        const t = Number(/^t=(\d+)/.exec(header)![1]);
        assert.ok(Math.abs(t - Date.now() / 1000) < 5, "signed at the time it is sent");
        assert.strictEqual(header, signature(SECRET, t, r.body));
        assert.strictEqual(verifySignature(SECRET, r.body, header), true);
        assert.strictEqual(r.headers["x-istio-canary-signature-256"], undefined, "the unsigned-time header is gone");
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
        const now = Math.floor(Date.now() / 1000);
        assert.strictEqual(
            verifySignature(SECRET, `${server.received[0].body} `, signature(SECRET, now, server.received[0].body)),
            false,
        );
    });

    it("the signature covers a timestamp: a receiver refuses an old, future or replayed-with-another-time delivery", () => {
        const body = '{"id":"d1"}';
        const t = 1_800_000_000;
        const header = signature(SECRET, t, body);
        const at = (seconds: number) => ({ nowMs: (t + seconds) * 1000 });
        assert.strictEqual(verifySignature(SECRET, body, header, at(0)), true);
        assert.strictEqual(verifySignature(SECRET, body, header, at(300)), true);
        assert.strictEqual(verifySignature(SECRET, body, header, at(301)), false, "older than 5 minutes");
        assert.strictEqual(verifySignature(SECRET, body, header, at(-301)), false, "from the future");
        assert.strictEqual(verifySignature(SECRET, body, header.replace(`t=${t}`, `t=${t + 60}`), at(60)), false);
        assert.strictEqual(verifySignature(SECRET, body, `${header},v1=${"0".repeat(64)}`, at(0)), true, "rotation");
        assert.strictEqual(verifySignature(SECRET, body, `t=${t}`, at(0)), false);
        assert.strictEqual(verifySignature(SECRET, body, "v1=abc,t=x", at(0)), false);
        assert.strictEqual(verifySignature("another", body, header, at(0)), false);
    });

    it("a receiver's endless answer is never read whole: at most 1 KiB of it, quoted without the URL's token", async () => {
        server.answer = () => ({ status: 500, endless: "boom /hooks/T0KEN-abcdef " });
        const t0 = Date.now();
        const c = await new HookClient([], undefined, clock).call(
            hook("/hooks/T0KEN-abcdef", { retries: 0, timeout: "5s" }),
            BASE,
        );
        assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
        assert.strictEqual(c.ok, false);
        assert.strictEqual(c.status, 500);
        assert.strictEqual(c.error, `HTTP 500: ${"boom /hooks/*** ".repeat(12).trim().slice(0, 160)}`);
        assert.ok(server.streamed < 16 * 1024 * 1024, `${server.streamed} bytes sent before the bot hung up`);
    });

    it("event hooks are sent concurrently within a short total deadline: a receiver that never answers delays nothing", async () => {
        server.answer = () => ({ never: true });
        const client = new HookClient(
            [hook("/events", { type: "event", timeout: "10s", retries: 2 })],
            undefined,
            clock,
            undefined,
            {
                eventDeadlineMs: 400,
            },
        );
        const t0 = Date.now();
        for (let i = 0; i < 5; i++) {
            client.notify({ ...BASE, event: { kind: "shift", message: `event ${i}` } });
        }
        assert.strictEqual(client.calls.length, 0, "notify returns before any call ends: it never waits");
        await client.flush();
        assert.ok(Date.now() - t0 < 1500, `flush took ${Date.now() - t0} ms (sequential calls took 33 s per event)`);
        assert.strictEqual(client.calls.length, 5);
        assert.ok(
            client.calls.every((c) => !c.ok && c.error === "no answer within the deadline of 400 ms"),
            JSON.stringify(client.calls),
        );
        assert.deepStrictEqual(
            server.received.map((r) => r.payload.sequence).sort(),
            [1, 2, 3, 4, 5],
            "each event carries its sequence number",
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

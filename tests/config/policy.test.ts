import * as assert from "assert";
import { parsePolicy, promDurationMs } from "../../config/policy";
import { ConfigError } from "../../config/reader";
import { ReleaseView } from "../../config/release-state";
import { TransitionError, transitions } from "../../config/release-transitions";

/** The problems parsePolicy reports for `raw`. */
function problems(raw: Record<string, string>, secret: string[] = []): string[] {
    try {
        parsePolicy(raw, new Set(secret));
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems;
    }
}

describe("release policy rules", () => {
    it("durations follow Prometheus's grammar: units once each, largest first", () => {
        assert.strictEqual(promDurationMs("1m30s"), 90_000);
        assert.strictEqual(promDurationMs("1h2m3s4ms"), 3_723_004);
        assert.strictEqual(promDurationMs("2d"), 172_800_000);
        for (const bad of ["1m1m", "30s1m", "1.5m", "", "m", "10", "1ms1s", " 1m"]) {
            assert.strictEqual(promDurationMs(bad), undefined, bad);
        }
        assert.deepStrictEqual(problems({ releaseInterval: "1m1m" }), [
            'releaseInterval must be a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first), from 10s to 24h; got "1m1m"',
        ]);
    });

    it("every bound has its message", () => {
        assert.deepStrictEqual(
            problems({ releaseInterval: "5s", releaseMetricWindow: "5s", prometheusScrapeInterval: "1s" }),
            ['releaseInterval must be at least 10s; got "5s"'],
        );
        assert.deepStrictEqual(problems({ releaseInterval: "30s", releaseMetricWindow: "1m" }), [
            'releaseMetricWindow must be no longer than releaseInterval (30s), or an analysis counts traffic from before the shift; got "1m"',
        ]);
        assert.deepStrictEqual(problems({ releaseInterval: "1m", releaseMetricWindow: "20s" }), [
            'releaseMetricWindow must be at least two scrape intervals (2 x prometheusScrapeInterval 15s = 30s), or rate() has too few samples; got "20s"',
        ]);
        assert.deepStrictEqual(problems({ prometheusScrapeInterval: "500ms", releaseMetricWindow: "1m" }), [
            'prometheusScrapeInterval must be at least 1s; got "500ms"',
        ]);
        assert.deepStrictEqual(problems({ prometheusTimeout: "500ms" }), [
            'prometheusTimeout must be at least 1s; got "500ms"',
        ]);
        assert.deepStrictEqual(problems({ releaseInterval: "30d", releaseMetricWindow: "1m" }), [
            'releaseInterval must be at most 24h (a longer wait overflows a timer); got "30d"',
        ]);
        assert.deepStrictEqual(
            problems({ releaseInterval: "10s", releaseMetricWindow: "10s", prometheusScrapeInterval: "5s" }),
            [],
        );
    });

    it("rejects checks that could never pass and duplicate check names", () => {
        const checks = (list: unknown[]) => ({ releaseChecks: JSON.stringify(list) });
        assert.deepStrictEqual(problems(checks([{ name: "errors", query: "x", min: 5, max: 1 }])), [
            'releaseChecks: check "errors" has min 5 above its max 1; it could never pass',
        ]);
        assert.deepStrictEqual(
            problems(
                checks([
                    { name: "errors", query: "x", max: 1 },
                    { name: "errors", query: "y", max: 2 },
                    { name: "success-rate", query: "z", min: 1 },
                ]),
            ),
            [
                'releaseChecks: the check name "errors" is used twice; names must be unique',
                'releaseChecks: the check name "success-rate" is used twice (it is a built-in check); names must be unique',
            ],
        );
    });

    it("a Prometheus URL with credentials is rejected, and never printed", () => {
        const found = problems({ prometheusUrl: "https://bot:hunter2@prom.example.test/" });
        assert.deepStrictEqual(found, [
            "prometheusUrl must not contain credentials (https://***@prom.example.test/): set prometheusUser and prometheusPassword (--secret) or prometheusToken (--secret), or PROMETHEUS_* in the environment",
        ]);
        const malformed = problems({ prometheusUrl: "ftp://bot:hunter2@prom" });
        assert.deepStrictEqual(malformed, [
            'prometheusUrl must be an http(s):// URL with a host (no spaces, credentials or fragment, at most 2048); got "ftp://***@prom"',
        ]);
        assert.ok(!JSON.stringify([found, malformed]).includes("hunter2"));
    });

    it("values of secret keys are never quoted", () => {
        const found = problems({ prometheusPassword: "pa55w0rd", prometheusUser: "bot", prometheusToken: "t0k3n" });
        assert.strictEqual(found.length, 2);
        assert.ok(!found.join("\n").includes("pa55w0rd") && !found.join("\n").includes("t0k3n"), found.join("\n"));
    });
});

describe("release protocol transitions", () => {
    const view = (status: ReleaseView["state"]["status"]): ReleaseView => ({
        state: {
            status,
            version: "v2",
            image: "r/app:2",
            previousImage: "r/app:1",
            previousVersion: "v1",
            owner: "bot-1",
            leaseExpires: "2026-11-30T10:10:00Z",
        },
        canaryWeight: 25,
        stable: { image: "r/app:1", version: "v1" },
        canary: { image: "r/app:2", version: "v2" },
    });

    it("each transition starts only from its statuses", () => {
        assert.throws(() => transitions.stage(view("rolled-back"), { phase: "steps", weight: 50 }), {
            name: "TransitionError",
            message:
                'release transition "stage" is not allowed from releaseStatus "rolled-back" (only from in-progress)',
        });
        assert.throws(
            () => transitions.start(view("in-progress"), { image: "r/app:3", version: "v3" }),
            TransitionError,
        );
        assert.throws(() => transitions.finishRollback(view("in-progress")), TransitionError);
    });

    it("a rollback is recorded as rolling-back first, then rolled back with the lease let go", () => {
        const rolling = transitions.rollBack(view("in-progress"), "1 failed analyses", "unhealthy");
        assert.deepStrictEqual(
            [rolling.state.status, rolling.canaryWeight, rolling.state.owner],
            ["rolling-back", 0, "bot-1"],
        );
        const done = transitions.finishRollback(rolling);
        assert.deepStrictEqual(
            [done.state.status, done.canary, done.state.owner],
            ["rolled-back", undefined, undefined],
        );
    });

    it("a rollback restores stable only if this release changed it", () => {
        const hotfixed = { ...view("in-progress"), stable: { image: "r/app:1.0.1", version: "v1.0.1" } };
        assert.deepStrictEqual(transitions.rollBack(hotfixed, "x", "unhealthy").stable, {
            image: "r/app:1.0.1",
            version: "v1.0.1",
        });
        const promoted = transitions.promoteStable(view("in-progress"));
        assert.deepStrictEqual(transitions.rollBack(promoted, "x", "unhealthy").stable, {
            image: "r/app:1",
            version: "v1",
        });
    });
});

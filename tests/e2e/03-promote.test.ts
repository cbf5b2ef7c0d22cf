/**
 * Promotion for real: two stacks (dev and staging, two namespaces) of this program on the local file:// backend.
 * A version moves dev -> staging only after its dev release completed; a version rolled back on dev is refused.
 */
import * as assert from "assert";
import {
    assertStableServes,
    baseConfig,
    E2EStack,
    FAST_RELEASE_POLICY,
    live,
    pollCanaryWeights,
    runCli,
} from "./harness";
import { IstioExporter, LocalPrometheus } from "./prometheus";

describe("e2e: promotion dev -> staging", function () {
    this.timeout(20 * 60 * 1000);
    const live_ = pollCanaryWeights(["shop-dev", "shop-staging"]);
    const exporters = Object.keys(live_.weights).map(
        (ns) =>
            new IstioExporter(
                ns,
                () => live_.weights[ns],
                () => live_.versions[ns],
            ),
    );
    const prometheus = new LocalPrometheus();
    let dev: E2EStack;
    let staging: E2EStack;

    /** Runs a CLI (release or promote) in dev's workspace (both stacks share the backend). */
    async function run(script: string, args: string[]): Promise<{ code: number; out: string }> {
        const r = await runCli(script, [
            "--work-dir",
            dev.workDir,
            "--quiet",
            "--report-dir",
            `${dev.workDir}/reports`,
            ...args,
        ]);
        return { code: r.code, out: r.stdout + r.stderr };
    }

    before(async () => {
        live_.start();
        const ports = await Promise.all(exporters.map((e) => e.start()));
        const url = await prometheus.start(...ports);
        dev = await E2EStack.create(
            "dev",
            baseConfig("shop-dev", {
                hosts: "shop.dev.e2e.example.test",
                prometheusUrl: url,
                releaseFailureThreshold: "2",
                ...FAST_RELEASE_POLICY,
            }),
        );
        await dev.up();
        // staging shares dev's workspace directory (one project, one backend) and the Istio dev installed.
        staging = await E2EStack.create(
            "staging",
            // Each environment has its own host: two stacks' gateways may not claim the same one (IST0109, IST0145).
            baseConfig("shop-staging", {
                hosts: "shop.staging.e2e.example.test",
                prometheusUrl: url,
                istioInstall: "false",
                releaseFailureThreshold: "1",
                ...FAST_RELEASE_POLICY,
            }),
            dev.workDir,
        );
        await staging.up();
    });

    after(async () => {
        live_.stop();
        try {
            await staging?.destroyAndRemove();
            await dev?.destroyAndRemove();
        } finally {
            await prometheus.stop();
            await Promise.all(exporters.map((e) => e.stop()));
        }
    });

    it("refuses to promote v2 to staging before dev completed a release of it", async () => {
        const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging", "--version", "v2"]);
        assert.strictEqual(r.code, 2, r.out);
        assert.match(
            r.out,
            /refused: stack dev has no completed release of v2 \(it runs v1; its last release: none\); release v2 there first/,
        );
        assert.strictEqual(
            live("deployment", "shop-staging", "shop-stable")!.spec.template.metadata.labels.version,
            "v1",
        );
    });

    it("after dev completes v2, promotion releases v2 on staging", async () => {
        const rel = await run("stacks/cli/release.ts", [
            "--stack",
            "dev",
            "--image",
            "registry.example.test/shop:2.0.0",
            "--version",
            "v2",
        ]);
        assert.strictEqual(rel.code, 0, rel.out);
        const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging"]);
        assert.strictEqual(r.code, 0, r.out);
        assert.match(r.out, /dev -> staging: v2 completed/);
        assertStableServes("shop-staging", "registry.example.test/shop:2.0.0", "v2");
        const outputs = await staging.stack.outputs();
        assert.deepStrictEqual(outputs.release.value, {
            status: "completed",
            version: "v2",
            image: "registry.example.test/shop:2.0.0",
            message: outputs.release.value.message,
            previousImage: "registry.example.test/shop:1.0.0",
            previousVersion: "v1",
        });
    });

    it("promoting v2 again is a no-op that says so", async () => {
        const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging"]);
        assert.strictEqual(r.code, 0, r.out);
        assert.match(r.out, /nothing to do: stack staging already runs v2/);
    });

    it("a version rolled back on dev is refused for staging", async () => {
        for (const e of exporters) {
            e.behaviour = { errorRate: (w) => (w > 0 ? 0.5 : 0), latencyMs: 20 };
        }
        const rel = await run("stacks/cli/release.ts", [
            "--stack",
            "dev",
            "--image",
            "registry.example.test/shop:3.0.0",
            "--version",
            "v3",
        ]);
        assert.strictEqual(rel.code, 1, rel.out);
        const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging", "--version", "v3"]);
        assert.strictEqual(r.code, 2, r.out);
        assert.match(r.out, /refused: the release of v3 on stack dev was rolled-back: it cannot be promoted/);
        assertStableServes("shop-staging", "registry.example.test/shop:2.0.0", "v2");
    });
});

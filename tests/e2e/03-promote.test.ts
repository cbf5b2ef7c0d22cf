/**
 * Promotion for real: two stacks (dev and staging, two namespaces) of this program on the local file:// backend.
 * A version moves dev -> staging only after its dev release completed; a version rolled back on dev is refused;
 * staging's promotion gates (a soak time on dev, an approval of each version) hold a version until both are met,
 * and the promotion report carries the audit trail. Waves: a third stack, prod-west, runs on a second local
 * cluster (its own API server and istiod; its `kubernetes:kubeconfig` names it), and `promote --to staging,prod-west`
 * goes one cluster after the other, stopping at a wave that fails.
 */
import * as assert from "assert";
import {
    assertStableServes,
    baseConfig,
    e2eTls,
    E2EStack,
    FAST_RELEASE_POLICY,
    live,
    pollCanaryWeights,
    runCli,
} from "./harness";
import { IstioExporter, LocalPrometheus } from "./prometheus";
import * as fs from "fs";
import * as path from "path";
import { writeStackConfig } from "../../stacks/automation/local-stack";
import { ScratchStack } from "../../stacks/automation/scratch";
import { PromotionApproval } from "../../config/release-state";
import { WavesResult } from "../../stacks/promote/waves";
import { SecondCluster } from "./second-cluster";

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
    // prod-west, on the second cluster: its live weights and versions are read there.
    let west: SecondCluster | undefined;
    let westCluster = "";
    let liveWest: ReturnType<typeof pollCanaryWeights> | undefined; // once the second cluster is up
    const westExporter = new IstioExporter(
        "shop-west",
        () => liveWest?.weights["shop-west"] ?? 0,
        () => liveWest?.versions["shop-west"] ?? "unknown",
    );
    const prometheus = new LocalPrometheus();
    let dev: E2EStack;
    let staging: E2EStack;
    let prodWest: ScratchStack;

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
        // The second cluster starts while this one's stacks come up.
        const second = SecondCluster.start("west").then((c) => (west = c));
        const ports = await Promise.all([...exporters, westExporter].map((e) => e.start()));
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
        // staging shares dev's workspace directory (one project, one backend); both use the run's shared Istio.
        staging = await E2EStack.create(
            "staging",
            // Each environment has its own host: two stacks' gateways may not claim the same one (IST0109, IST0145).
            baseConfig("shop-staging", {
                hosts: "shop.staging.e2e.example.test",
                prometheusUrl: url,
                releaseFailureThreshold: "1",
                ...FAST_RELEASE_POLICY,
            }),
            dev.workDir,
        );
        await staging.up();
        await second;
        westCluster = west!.kubeconfig;
        console.log(`      [03] ${west!.log.join("; ")}`);
        prodWest = await ScratchStack.create(
            "prod-west",
            baseConfig("shop-west", {
                hosts: "shop.west.e2e.example.test",
                prometheusUrl: url,
                releaseFailureThreshold: "1",
                ...FAST_RELEASE_POLICY,
            }),
            e2eTls("shop.west.e2e.example.test"),
            dev.workDir,
        );
        await prodWest.stack.setConfig("kubernetes:kubeconfig", { value: westCluster });
        await prodWest.up();
        liveWest = pollCanaryWeights(["shop-west"], westCluster);
        liveWest.start();
    });

    after(async () => {
        live_.stop();
        liveWest?.stop();
        try {
            // prod-west goes with its cluster; only its stack is removed from the backend.
            await prodWest?.stack.workspace.removeStack("prod-west", { force: true });
            await staging?.destroyAndRemove();
            await dev?.destroyAndRemove();
        } finally {
            await west?.stop();
            await prometheus.stop();
            await Promise.all([...exporters, westExporter].map((e) => e.stop()));
        }
    });

    /** prod-west's stable runs `image` as `version` with all traffic, read on the second cluster. */
    async function assertWestServes(image: string, version: string): Promise<void> {
        const vs = JSON.parse(await west!.kubectl(["get", "virtualservice", "-n", "shop-west", "shop", "-o", "json"]));
        const weighted = (
            vs.spec.http as { name: string; route: { destination: { subset: string }; weight: number }[] }[]
        )
            .find((h) => h.name === "weighted")!
            .route.map((d) => [d.destination.subset, d.weight]);
        assert.deepStrictEqual(weighted, [
            ["stable", 100],
            ["canary", 0],
        ]);
        const d = JSON.parse(
            await west!.kubectl(["get", "deployment", "-n", "shop-west", "shop-stable", "-o", "json"]),
        );
        assert.deepStrictEqual(
            [d.spec.template.spec.containers[0].image, d.spec.template.metadata.labels.version],
            [image, version],
        );
    }

    /** The newest waves report in dev's report directory. */
    function lastWavesReport(): { json: WavesResult; markdown: string } {
        const dir = path.join(dev.workDir, "reports");
        const base = fs
            .readdirSync(dir)
            .filter((f) => f.startsWith("waves-") && f.endsWith(".json"))
            .sort()
            .at(-1)!;
        return {
            json: JSON.parse(fs.readFileSync(path.join(dir, base), "utf8")) as WavesResult,
            markdown: fs.readFileSync(path.join(dir, base.replace(/\.json$/, ".md")), "utf8"),
        };
    }

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

    it("waves: a canary failing in the first wave (staging) is rolled back there and never reaches prod-west's cluster", async () => {
        const rel = await run("stacks/cli/release.ts", [
            "--stack",
            "dev",
            "--image",
            "registry.example.test/shop:2.0.0",
            "--version",
            "v2",
        ]);
        assert.strictEqual(rel.code, 0, rel.out);
        const westUpdates = (await prodWest.stack.history()).length;
        const staging_ = exporters[1]; // shop-staging's (the order of live_'s namespaces)
        staging_.behaviour = { errorRate: (w) => (w > 0 ? 0.5 : 0), latencyMs: 20 };
        try {
            const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging,prod-west"]);
            assert.strictEqual(r.code, 1, r.out);
            assert.match(r.out, /dev -> staging: v2 rolled-back/);
            assert.match(r.out, /waves staging, prod-west: stopped at staging/);
        } finally {
            staging_.behaviour = { errorRate: () => 0, latencyMs: 20 };
        }
        assertStableServes("shop-staging", "registry.example.test/shop:1.0.0", "v1");
        await assertWestServes("registry.example.test/shop:1.0.0", "v1");
        assert.strictEqual((await prodWest.stack.history()).length, westUpdates, "no update ran on prod-west");
        const lease = await west!.kubectl(["get", "leases", "-n", "shop-west", "-o", "name"]);
        assert.strictEqual(lease.trim(), "", "no bot took prod-west's lease");
        const { json, markdown } = lastWavesReport();
        assert.deepStrictEqual(
            json.waves.map((w) => [w.from, w.to, w.status]),
            [
                ["dev", "staging", "stopped"],
                ["staging", "prod-west", "not started"],
            ],
        );
        assert.match(markdown, /^# Promotion of v2 from dev in waves: stopped$/m);
    });

    it("waves: after dev completes v2, promotion releases it on staging, then on prod-west in the second cluster", async () => {
        const r = await run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging,prod-west"]);
        assert.strictEqual(r.code, 0, r.out);
        assert.match(r.out, /dev -> staging: v2 completed/);
        assert.match(r.out, /staging -> prod-west: v2 completed/);
        assertStableServes("shop-staging", "registry.example.test/shop:2.0.0", "v2");
        await assertWestServes("registry.example.test/shop:2.0.0", "v2");
        // Each cluster has its own objects: nothing of prod-west's namespace on the first cluster.
        assert.strictEqual(live("namespace", "", "shop-west"), undefined);
        const { json } = lastWavesReport();
        assert.strictEqual(json.outcome, "completed");
        const [first, second] = json.waves.map((w) => w.release!);
        assert.ok(Date.parse(second.startedAt) >= Date.parse(first.finishedAt), "one wave after the other");
        assert.deepStrictEqual([second.promotion?.from, second.promotion?.to], ["staging", "prod-west"]);
        // The bot's measurements on prod-west came from its own canary (the second cluster's live weights).
        assert.ok(
            second.events.some((e) => e.kind === "analysis" && e.weight === 50 && e.verdict === "pass"),
            JSON.stringify(second.events.map((e) => [e.kind, e.weight, e.verdict])),
        );
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

    it("staging's promotion gates: refused while v4 soaks on dev, then until approved; the report keeps the audit trail", async () => {
        for (const e of exporters) {
            e.behaviour = { errorRate: () => 0, latencyMs: 20 };
        }
        await writeStackConfig(staging.stack, { promotionSoakTime: "1h", promotionRequireApproval: "true" });
        const rel = await run("stacks/cli/release.ts", [
            "--stack",
            "dev",
            "--image",
            "registry.example.test/shop:4.0.0",
            "--version",
            "v4",
        ]);
        assert.strictEqual(rel.code, 0, rel.out);
        const promote = () => run("stacks/cli/promote.ts", ["--from", "dev", "--to", "staging", "--version", "v4"]);

        const soaking = await promote();
        assert.strictEqual(soaking.code, 2, soaking.out);
        assert.match(
            soaking.out,
            /refused: v4 has run as stable on stack dev for [\dms]+ \(since [\d-]+T[\d:.]+Z\); stack staging asks for 1h \(promotionSoakTime\): 5\dm(\d+s)? left/,
        );

        // A shorter soak, which v4 has served by now: the approval is what is missing.
        await writeStackConfig(staging.stack, { promotionSoakTime: "2s" });
        await new Promise((r) => setTimeout(r, 2000));
        const unapproved = await promote();
        assert.strictEqual(unapproved.code, 2, unapproved.out);
        assert.match(
            unapproved.out,
            /refused: stack staging needs an approval of each version before promotion \(promotionRequireApproval\), and v4 has none: npm run promote -- --approve --from dev --to staging --version v4/,
        );
        assertStableServes("shop-staging", "registry.example.test/shop:2.0.0", "v2");

        const approve = await run("stacks/cli/promote.ts", [
            "--approve",
            "--from",
            "dev",
            "--to",
            "staging",
            "--version",
            "v4",
            "--by",
            "e2e-approver",
        ]);
        assert.strictEqual(approve.code, 0, approve.out);
        assert.match(
            approve.out,
            /approved: v4 \(registry\.example\.test\/shop:4\.0\.0\) may be promoted to staging once \(by e2e-approver at /,
        );
        const history = JSON.parse(staging.pulumi(["stack", "history", "--json"])) as { message?: string }[];
        assert.ok(
            history.some(
                (h) =>
                    h.message ===
                    "promotion of v4 (registry.example.test/shop:4.0.0) to staging approved by e2e-approver",
            ),
            "the approval is an update in staging's history",
        );

        const done = await promote();
        assert.strictEqual(done.code, 0, done.out);
        assert.match(done.out, /dev -> staging: v4 completed/);
        assertStableServes("shop-staging", "registry.example.test/shop:4.0.0", "v4");
        const dir = path.join(dev.workDir, "reports");
        const md = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".md"))
            .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
            .filter((t) => t.includes("## Promotion") && t.includes("v4 (registry.example.test/shop:4.0.0)"));
        assert.strictEqual(md.length, 1, "one promotion report of v4");
        assert.match(md[0], /- v4 \(registry\.example\.test\/shop:4\.0\.0\) from stack dev to stack staging, decided /);
        assert.match(md[0], /- Source release: completed [\d-]+T[\d:.]+Z on dev; its report and analyses: \[/);
        assert.match(md[0], /- Soak: ran [\dms]+ as stable on dev; staging asks for 2s/);
        assert.match(
            md[0],
            /- Approved for staging by e2e-approver at \S+ \(v4, registry\.example\.test\/shop:4\.0\.0\)/,
        );
        // The promotion used the approval: marked so in the update that started it (a second promotion needs another).
        const used = JSON.parse(
            (await staging.stack.getAllConfig())["istio-canary:promotionApproval"].value,
        ) as PromotionApproval;
        assert.deepStrictEqual([used.image, used.usedFrom], ["registry.example.test/shop:4.0.0", "dev"]);
        assert.match(used.usedAt ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    });
});

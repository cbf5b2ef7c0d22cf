import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Reader } from "../../../config/reader";
import { readState } from "../../../config/release-state";
import { PromotionState } from "../../../stacks/promote/promote";
import { promoteWaves, WavesOptions } from "../../../stacks/promote/waves";
import { renderWavesMarkdown, writeWavesReport } from "../../../stacks/promote/waves-report";
import { FakeClock, FakeMetrics, FakeStack, healthy } from "../fakes";
import { stackConfig } from "../release/bench";

const V1 = "registry.example.test/shop:1.0.0";
const V2 = "registry.example.test/shop:2.0.0";
const HOUR = 3_600_000;

/** A stack's promotion outputs, as the program exports them, from its deployed config. */
function outputsOf(stack: FakeStack): PromotionState | undefined {
    const d = stack.deployed;
    return d && { stable: { image: d.stableImage, version: d.stableVersion }, release: readState(new Reader(d)) };
}

describe("promotion in waves (fake stacks, one per cluster, and a fake clock)", function () {
    this.timeout(20000);
    let clock: FakeClock;
    let stacks: Record<string, FakeStack>;
    let metrics: Record<string, FakeMetrics>;
    let opened: string[];

    beforeEach(() => {
        clock = new FakeClock();
        // staging completed v2 at the fake clock's start.
        const staging = new FakeStack(
            stackConfig({
                stableImage: V2,
                stableVersion: "v2",
                releaseStatus: "completed",
                releaseVersion: "v2",
                releaseImage: V2,
                releaseMessage: `completed ${clock.now().toISOString()}`,
            }),
        );
        const prod = (extra: Record<string, string> = {}) =>
            new FakeStack(stackConfig({ stableImage: V1, stableVersion: "v1", releaseSteps: "50,100", ...extra }));
        stacks = { staging, "prod-east": prod(), "prod-west": prod(), "prod-south": prod() };
        metrics = Object.fromEntries(
            Object.keys(stacks).map((name) => {
                const m = new FakeMetrics();
                m.answer = healthy(100, 10);
                return [name, m];
            }),
        );
        opened = [];
    });

    const run = (to: string[], extra: Partial<WavesOptions> = {}) =>
        promoteWaves(
            { from: "staging", to, ...extra },
            {
                readState: (name) => Promise.resolve(outputsOf(stacks[name])),
                openTarget: (name) => {
                    opened.push(name);
                    return Promise.resolve({ target: stacks[name], metrics: metrics[name], clock });
                },
                clock,
                log: () => undefined,
            },
        );

    it("a healthy version reaches every wave in order, each promoted from the wave before it", async () => {
        const r = await run(["prod-east", "prod-west"]);
        assert.strictEqual(r.outcome, "completed");
        assert.deepStrictEqual(
            r.waves.map((w) => [w.from, w.to, w.status]),
            [
                ["staging", "prod-east", "completed"],
                ["prod-east", "prod-west", "completed"],
            ],
        );
        for (const name of ["prod-east", "prod-west"]) {
            assert.strictEqual(stacks[name].config.stableImage, V2, name);
            assert.strictEqual(stacks[name].config.releaseStatus, "completed", name);
        }
        // prod-west's release started after prod-east's completed: the waves do not overlap.
        const [east, west] = r.waves.map((w) => w.release!);
        assert.ok(Date.parse(west.startedAt) >= Date.parse(east.finishedAt));
        assert.strictEqual(west.promotion?.from, "prod-east");
        assert.deepStrictEqual(r.rollbackCommands, []);
        assert.deepStrictEqual([r.version, r.image], ["v2", V2]);
    });

    it("a canary failing in the first wave rolls back there and never reaches the next wave", async () => {
        metrics["prod-east"].answer = healthy(80, 10);
        const west = { ...stacks["prod-west"].config };
        const r = await run(["prod-east", "prod-west"]);
        assert.strictEqual(r.outcome, "stopped");
        assert.strictEqual(r.stoppedAt, "prod-east");
        assert.deepStrictEqual(
            r.waves.map((w) => w.status),
            ["stopped", "not started"],
        );
        assert.strictEqual(r.waves[0].release?.outcome, "rolled-back");
        assert.strictEqual(stacks["prod-east"].config.stableImage, V1, "the failed wave is back on its stable");
        assert.deepStrictEqual(stacks["prod-west"].ups, [], "nothing ran on the next wave's stack");
        assert.deepStrictEqual(stacks["prod-west"].config, west);
        assert.deepStrictEqual(opened, ["prod-east"], "the next wave's stack was not even opened");
        assert.deepStrictEqual(r.rollbackCommands, [], "no wave completed: nothing to roll back");
    });

    it("a failure in a later wave leaves the earlier waves as they are and says how to roll them back", async () => {
        metrics["prod-west"].answer = healthy(80, 10);
        const r = await run(["prod-east", "prod-west", "prod-south"]);
        assert.deepStrictEqual(
            r.waves.map((w) => w.status),
            ["completed", "stopped", "not started"],
        );
        assert.strictEqual(stacks["prod-east"].config.stableImage, V2, "the earlier wave keeps the new version");
        assert.strictEqual(stacks["prod-west"].config.stableImage, V1);
        assert.deepStrictEqual(stacks["prod-south"].ups, []);
        assert.deepStrictEqual(r.rollbackCommands, [`npm run release -- --stack prod-east --image ${V1} --version v1`]);
        const md = renderWavesMarkdown(r, { "prod-east": "prod-east-v2-x.md" });
        assert.match(md, /^# Promotion of v2 from staging in waves: stopped$/m);
        assert.match(md, /^\| 1 \| staging -> prod-east \| completed \| .* \| \[report\]\(prod-east-v2-x\.md\) \|$/m);
        assert.match(md, /^\| 2 \| prod-east -> prod-west \| stopped \| rolled-back: /m);
        assert.match(md, /^\| 3 \| prod-west -> prod-south \| not started \| the waves stopped at prod-west \|/m);
        assert.ok(md.includes(`npm run release -- --stack prod-east --image ${V1} --version v1`));
    });

    it("a later wave waits out its soak time, counted from the wave before; the first wave refuses as promote does", async () => {
        stacks["prod-west"].config.promotionSoakTime = "1h";
        stacks["prod-west"].deployed = { ...stacks["prod-west"].config };
        const r = await run(["prod-east", "prod-west"]);
        assert.strictEqual(r.outcome, "completed", JSON.stringify(r.waves.map((w) => w.reason)));
        const [east, west] = r.waves;
        assert.ok(west.soakWaitedMs! > 0 && west.soakWaitedMs! <= HOUR, String(west.soakWaitedMs));
        assert.ok(Date.parse(west.release!.startedAt) - Date.parse(east.release!.finishedAt) >= HOUR - 1000);
        assert.deepStrictEqual(west.release?.promotion?.soak?.required, "1h");

        // As the first wave, the same soak is a refusal (what `promote` says), and nothing runs.
        stacks["prod-south"].config.promotionSoakTime = "48h";
        stacks["prod-south"].deployed = { ...stacks["prod-south"].config };
        const first = await run(["prod-south", "prod-east"]);
        assert.strictEqual(first.waves[0].status, "refused");
        assert.match(first.waves[0].reason, /asks for 48h \(promotionSoakTime\): .* left$/);
        assert.deepStrictEqual(stacks["prod-south"].ups, []);
    });

    it("a soak longer than the wait allowed is a refusal that stops the waves", async () => {
        stacks["prod-west"].config.promotionSoakTime = "2h";
        stacks["prod-west"].deployed = { ...stacks["prod-west"].config };
        const r = await run(["prod-east", "prod-west"], { maxSoakWaitMs: HOUR });
        assert.deepStrictEqual(
            r.waves.map((w) => w.status),
            ["completed", "refused"],
        );
        assert.match(r.waves[1].reason, /asks for 2h \(promotionSoakTime\)/);
        assert.deepStrictEqual(r.rollbackCommands, [`npm run release -- --stack prod-east --image ${V1} --version v1`]);
    });

    it("a wave that already runs the version is passed over; a refusal at the first wave changes nothing anywhere", async () => {
        const east = await run(["prod-east"]);
        assert.strictEqual(east.outcome, "completed");
        const ups = stacks["prod-east"].ups.length;
        const both = await run(["prod-east", "prod-west"]);
        assert.deepStrictEqual(
            both.waves.map((w) => w.status),
            ["no-op", "completed"],
        );
        assert.strictEqual(stacks["prod-east"].ups.length, ups, "the no-op wave changed nothing");

        const v3 = await run(["prod-east", "prod-west"], { version: "v3" });
        assert.deepStrictEqual(
            v3.waves.map((w) => w.status),
            ["refused", "not started"],
        );
        assert.match(v3.waves[0].reason, /stack staging has no completed release of v3/);
    });

    it("writes one report for every wave, JSON and Markdown, with no secret in it", async () => {
        metrics["prod-west"].answer = healthy(80, 10);
        const r = await run(["prod-east", "prod-west"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "waves-"));
        try {
            const files = writeWavesReport(r, dir);
            assert.match(path.basename(files.markdown), /^waves-staging-v2-.*\.md$/);
            const json = JSON.parse(fs.readFileSync(files.json, "utf8")) as { waves: unknown[]; outcome: string };
            assert.strictEqual(json.outcome, "stopped");
            assert.strictEqual(json.waves.length, 2);
            const md = fs.readFileSync(files.markdown, "utf8");
            assert.strictEqual(md, renderWavesMarkdown(JSON.parse(fs.readFileSync(files.json, "utf8"))));
            assert.ok(!md.includes("BEGIN") && !fs.readFileSync(files.json, "utf8").includes("PRIVATE KEY"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

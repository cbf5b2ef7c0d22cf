import * as assert from "assert";
import { Reader } from "../../../config/reader";
import { PromotionApproval, readState } from "../../../config/release-state";
import {
    approvePromotion,
    checkPromotionGates,
    completedAt,
    humanDuration,
} from "../../../stacks/promote/promotion-gates";
import { promote, PromotionState } from "../../../stacks/promote/promote";
import { renderMarkdown } from "../../../stacks/release/report";
import { FakeClock, FakeMetrics, FakeStack, healthy } from "../fakes";
import { stackConfig } from "../release/bench";

const V2 = "registry.example.test/shop:2.0.0";
const HOUR = 3_600_000;

/** What a stack exports for promotion, as the program does (stable, release state), from its deployed config. */
function outputsOf(stack: FakeStack): PromotionState {
    const d = stack.deployed!;
    return { stable: { image: d.stableImage, version: d.stableVersion }, release: readState(new Reader(d)) };
}

describe("promotion gates: soak time and approval, with an audit trail", function () {
    this.timeout(20000);
    let clock: FakeClock;
    let source: PromotionState;
    let metrics: FakeMetrics;
    beforeEach(() => {
        clock = new FakeClock();
        metrics = new FakeMetrics();
        metrics.answer = healthy(100, 10);
        // v2 completed on staging at 10:00, with a gate approved on the way.
        source = {
            stable: { image: V2, version: "v2" },
            release: {
                status: "completed",
                version: "v2",
                image: V2,
                message: `completed ${clock.now().toISOString()}`,
                approvals: [
                    { gate: "50", version: "v2", decision: "approve", by: "alice", at: "2026-11-30T09:30:00.000Z" },
                ],
            },
        };
    });
    const run = (target: FakeStack) =>
        promote(
            { from: "staging", to: "prod", sourceReport: { report: "reports/staging-v2-x.md" } },
            {
                readState: (name) => Promise.resolve(name === "staging" ? source : outputsOf(target)),
                target,
                clock,
                metrics,
                log: () => undefined,
            },
        );

    it("refuses until the version has soaked on the source, saying how long is left, then releases", async () => {
        const target = new FakeStack(stackConfig({ promotionSoakTime: "24h" }));
        await clock.sleep(3 * HOUR + 60_000);
        const early = await run(target);
        assert.deepStrictEqual(early.decision, {
            action: "refuse",
            reason: "v2 has run as stable on stack staging for 3h1m (since 2026-11-30T10:00:00.000Z); stack prod asks for 24h (promotionSoakTime): 20h59m left",
            soakLeftMs: 21 * HOUR - 60_000,
        });
        assert.strictEqual(target.ups.length, 0, "a refusal changes nothing");
        await clock.sleep(21 * HOUR);
        const r = await run(target);
        assert.strictEqual(r.decision.action, "release");
        assert.strictEqual(r.release?.outcome, "completed");
        assert.deepStrictEqual(r.release?.promotion?.soak, { required: "24h", ran: "1d1m" });
        assert.strictEqual(target.config.stableVersion, "v2");
    });

    it("refuses a soak when the source's completion time is not recorded", () => {
        const unknown = { ...source, release: { ...source.release, message: "done" } };
        const got = checkPromotionGates(
            { from: "staging", to: "prod", version: "v2", image: V2 },
            unknown,
            source,
            { soak: "1h", requireApproval: false },
            clock.now(),
        );
        assert.deepStrictEqual(got, {
            refuse: 'stack prod asks for a promotionSoakTime of 1h, but the completion time of v2 on stack staging is not recorded (releaseMessage "done")',
        });
    });

    it("needs an approval of each version, recorded on the target by an update with who and when", async () => {
        const target = new FakeStack(stackConfig({ promotionRequireApproval: "true" }));
        const refused = await run(target);
        assert.deepStrictEqual(refused.decision, {
            action: "refuse",
            reason: "stack prod needs an approval of each version before promotion (promotionRequireApproval), and v2 has none: npm run promote -- --approve --from staging --to prod --version v2",
        });
        await approvePromotion({ to: "prod", version: "v1-old", image: V2, by: "bob" }, { target, clock });
        const other = (await run(target)).decision;
        assert.ok(other.action === "refuse");
        assert.match(other.reason, /and v2 has none \(the approval recorded is for v1-old\): npm run promote/);
        const ups = target.ups.length;
        const a = await approvePromotion({ to: "prod", version: "v2", image: V2, by: "carol" }, { target, clock });
        assert.deepStrictEqual(a, { version: "v2", image: V2, by: "carol", at: clock.now().toISOString() });
        assert.strictEqual(target.ups.length, ups + 1, "recorded by an update: it shows in pulumi stack history");
        assert.deepStrictEqual(JSON.parse(target.deployed!.promotionApproval), a);

        const r = await run(target);
        assert.strictEqual(r.release?.outcome, "completed", r.release?.reason);
        const audit = r.release.promotion!;
        assert.deepStrictEqual(audit.approval, a);
        assert.deepStrictEqual(audit.source, {
            completedAt: "2026-11-30T10:00:00.000Z",
            gateDecisions: source.release.approvals,
            report: "reports/staging-v2-x.md",
        });
        const md = renderMarkdown(r.release, "chart.svg");
        for (const line of [
            "## Promotion",
            `- v2 (${V2}) from stack staging to stack prod, decided ${audit.decidedAt}`,
            "- Source release: completed 2026-11-30T10:00:00.000Z on staging; its report and analyses: [staging-v2-x.md](reports/staging-v2-x.md)",
            "- Source gate 50: approve by alice at 2026-11-30T09:30:00.000Z",
            `- Approved for prod by carol at ${a.at} (v2, ${V2})`,
        ]) {
            assert.ok(md.split("\n").includes(line), `missing: ${line}\n${md}`);
        }
        // The approval stays on the target after the release (kept across releases), for the record, marked used
        // by the update that started the release.
        const start = target.ups.find((u) => u.message === "release v2: start: canary deployed at weight 0")!;
        const marked = JSON.parse(start.config.promotionApproval) as PromotionApproval;
        assert.deepStrictEqual({ ...marked, usedAt: "-" }, { ...a, usedAt: "-", usedFrom: "staging" });
        assert.match(marked.usedAt!, /^2026-11-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepStrictEqual(JSON.parse(target.config.promotionApproval), marked);
    });

    it("an approval is refused while a release is under way on the target, and names only a person", async () => {
        const busy = new FakeStack(
            stackConfig({ releaseStatus: "in-progress", releaseVersion: "v3", releaseImage: V2, canaryImage: V2 }),
        );
        await assert.rejects(
            approvePromotion({ to: "prod", version: "v2", image: V2, by: "dan" }, { target: busy, clock }),
            {
                name: "PreflightError",
                message: "stack prod has a release of v3 under way (in-progress); approve the promotion after it ends",
            },
        );
        assert.strictEqual(busy.ups.length, 0);
        assert.strictEqual(busy.config.promotionApproval, undefined);
        await assert.rejects(
            approvePromotion({ to: "prod", version: "v2", image: V2, by: "" }, { target: busy, clock }),
            {
                message: '--by must be a name (letters, digits and -_.@+ and spaces, at most 64); got ""',
            },
        );
    });

    it("durations for people", () => {
        assert.deepStrictEqual([0, 20_000, 61_000, 3 * HOUR + 60_000, 25 * HOUR].map(humanDuration), [
            "0s",
            "20s",
            "1m1s",
            "3h1m",
            "1d1h",
        ]);
    });

    it("durations for people: seconds only under an hour, none when zero", () => {
        assert.deepStrictEqual([60_000, 3661_000, 59_000].map(humanDuration), ["1m", "1h1m", "59s"]);
    });

    it("the completion time is read only from a whole 'completed <ISO time>' message", () => {
        const at = "2026-11-30T10:00:00.000Z";
        const state = (message?: string): PromotionState => ({ ...source, release: { ...source.release, message } });
        assert.strictEqual(completedAt(state(`completed ${at}`))?.toISOString(), at);
        assert.strictEqual(completedAt(state(`not completed ${at}`)), undefined);
        assert.strictEqual(completedAt(state(`completed ${at} (then edited)`)), undefined);
        assert.strictEqual(completedAt(state(undefined)), undefined);
    });

    it("a soak exactly served passes; the audit keeps only the source's gate decisions for this version", () => {
        source.release.approvals!.push({
            gate: "complete",
            version: "v1",
            decision: "approve",
            by: "bob",
            at: "2026-11-29T09:30:00.000Z",
        });
        const now = new Date(clock.now().getTime() + HOUR);
        const r = checkPromotionGates(
            { from: "staging", to: "prod", version: "v2", image: V2 },
            source,
            { stable: source.stable, release: { status: "idle" } },
            { soak: "1h", requireApproval: false },
            now,
        );
        assert.ok("audit" in r, JSON.stringify(r));
        assert.deepStrictEqual(r.audit.soak, { required: "1h", ran: "1h" });
        assert.deepStrictEqual(
            r.audit.source.gateDecisions.map((a) => a.by),
            ["alice"],
        );
    });

    it("an approval is one update, named in the stack's history", async () => {
        const target = new FakeStack(stackConfig({}));
        await approvePromotion({ to: "prod", version: "v2", image: V2, by: "carol" }, { target, clock });
        assert.deepStrictEqual(
            target.ups.map((u) => u.message),
            [`promotion of v2 (${V2}) to prod approved by carol`],
        );
    });
});

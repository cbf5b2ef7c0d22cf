/**
 * A promotion approval is for one version and one image (its digest when pinned), and is used once (issue 23: an
 * approval of "v4" promoted a rebuilt "v4" with another digest).
 */
import * as assert from "assert";
import { PromotionApproval, readState } from "../../../config/release-state";
import { Reader } from "../../../config/reader";
import { checkApproveFlags } from "../../../stacks/cli/promote";
import { promote, PromotionState } from "../../../stacks/promote/promote";
import { approvedImage, approvePromotion } from "../../../stacks/promote/promotion-gates";
import { runRelease } from "../../../stacks/release/run";
import { FakeBots, FakeClock, FakeMetrics, FakeStack, healthy } from "../fakes";
import { stackConfig } from "../release/bench";

const DIGEST_A = `sha256:${"a1".repeat(32)}`;
const DIGEST_B = `sha256:${"b2".repeat(32)}`;
const V4_A = `registry.example.test/shop:4.0.0@${DIGEST_A}`;
const V4_B = `registry.example.test/shop:4.0.0@${DIGEST_B}`;

/** What a stack exports for promotion, as the program does (stable, release state), from its deployed config. */
function outputsOf(stack: FakeStack): PromotionState {
    const d = stack.deployed!;
    return { stable: { image: d.stableImage, version: d.stableVersion }, release: readState(new Reader(d)) };
}

/** staging, having completed a release of v4 with `image`. */
function staging(image: string, at: Date): PromotionState {
    return {
        stable: { image, version: "v4" },
        release: { status: "completed", version: "v4", image, message: `completed ${at.toISOString()}` },
    };
}

describe("promotion approval: bound to the version and image approved, used once (fake stacks and clock)", function () {
    this.timeout(20000);
    let clock: FakeClock;
    let metrics: FakeMetrics;
    let bots: FakeBots;
    let source: PromotionState;
    beforeEach(() => {
        clock = new FakeClock();
        metrics = new FakeMetrics();
        metrics.answer = healthy(100, 10);
        bots = new FakeBots();
        source = staging(V4_A, clock.now());
    });
    const prod = () => new FakeStack(stackConfig({ promotionRequireApproval: "true" }));
    const promoteTo = (target: FakeStack) =>
        promote(
            { from: "staging", to: "prod" },
            {
                readState: (name) => Promise.resolve(name === "staging" ? source : outputsOf(target)),
                target,
                clock,
                metrics,
                identity: bots.next(),
                log: () => undefined,
            },
        );
    const approve = (target: FakeStack, by = "carol") =>
        approvePromotion(
            { to: "prod", version: "v4", image: approvedImage({ from: "staging", version: "v4" }, source), by },
            { target, clock },
        );
    const refusal = (why: string) =>
        "stack prod needs an approval of each version before promotion (promotionRequireApproval), and " +
        `${why}: npm run promote -- --approve --from staging --to prod --version v4`;

    it("an approval of v4 does not promote a rebuilt v4 with another digest; nothing changes on the target", async () => {
        const target = prod();
        const a = await approve(target);
        assert.strictEqual(a.image, V4_A, "the approval records the image staging ran as v4");
        // v4 is rebuilt and released on staging again: same version label, another digest.
        source = staging(V4_B, clock.now());
        const ups = target.ups.length;
        const refused = await promoteTo(target);
        assert.deepStrictEqual(refused.decision, {
            action: "refuse",
            reason: refusal(
                `the approval of v4 (by carol at ${a.at}) is for the image ${V4_A}, but stack staging runs ${V4_B} ` +
                    "(another build of v4?)",
            ),
        });
        assert.strictEqual(target.ups.length, ups, "nothing was applied");
        assert.strictEqual(target.config.stableImage, "registry.example.test/shop:1.0.0");
    });

    it("the same digest under another spelling of the reference is the approved artifact", async () => {
        const target = prod();
        await approve(target);
        source = staging(`registry.example.test/shop@${DIGEST_A}`, clock.now());
        const r = await promoteTo(target);
        assert.strictEqual(r.release?.outcome, "completed", r.release?.reason);
    });

    it("an approval is used once: marked used by the update that starts the release; promoting v4 again needs another", async () => {
        const target = prod();
        const a = await approve(target);
        metrics.answer = healthy(50, 10); // the canary fails on prod: rolled back
        const first = await promoteTo(target);
        assert.strictEqual(first.release?.outcome, "rolled-back");
        const start = target.ups.find((u) => u.message === "release v4: start: canary deployed at weight 0")!;
        const marked = JSON.parse(start.config.promotionApproval) as PromotionApproval;
        assert.deepStrictEqual({ ...marked, usedAt: "-" }, { ...a, usedAt: "-", usedFrom: "staging" });
        assert.ok(Date.parse(marked.usedAt!) >= Date.parse(a.at));

        metrics.answer = healthy(100, 10);
        const ups = target.ups.length;
        const again = await promoteTo(target);
        assert.deepStrictEqual(again.decision, {
            action: "refuse",
            reason: refusal(
                `the approval of v4 (by carol at ${a.at}) was used by the promotion from stack staging at ` +
                    `${marked.usedAt}: an approval is used once`,
            ),
        });
        assert.strictEqual(target.ups.length, ups);

        await approve(target, "dave");
        const second = await promoteTo(target);
        assert.strictEqual(second.release?.outcome, "completed", second.release?.reason);
        assert.strictEqual(second.release?.promotion?.approval?.by, "dave");
        assert.strictEqual(target.config.stableImage, V4_A);
    });

    it("an approval recorded before approvals named an image approves nothing", async () => {
        const at = "2026-11-30T09:00:00.000Z";
        const target = new FakeStack(
            stackConfig({
                promotionRequireApproval: "true",
                promotionApproval: JSON.stringify({ version: "v4", by: "erin", at }),
            }),
        );
        const r = await promoteTo(target);
        assert.deepStrictEqual(r.decision, {
            action: "refuse",
            reason: refusal(
                `the approval of v4 (by erin at ${at}) names no image (recorded before approvals named one)`,
            ),
        });
    });

    it("a release started for a promotion is refused when the stack holds another approval than the one checked", async () => {
        const target = prod();
        const checked = await approve(target, "carol");
        await clock.sleep(1000);
        await approve(target, "frank"); // approved again in between: the gates checked carol's
        await assert.rejects(
            runRelease(
                { image: V4_A, version: "v4", promotion: { from: "staging", approval: checked } },
                { stack: target, clock, metrics, identity: bots.next(), log: () => undefined },
            ),
            {
                name: "PreflightError",
                message: new RegExp(
                    "^the promotion approval on stack dev changed since the promotion checked it \\(checked .*carol.*, " +
                        "now .*frank.*\\); nothing was started: promote again$",
                ),
            },
        );
        assert.strictEqual(target.config.releaseStatus, undefined, "nothing was started");
    });

    it("the image approved is what the source runs as the version; a given --image must be that artifact", () => {
        assert.strictEqual(approvedImage({ from: "staging", version: "v4" }, source), V4_A);
        assert.strictEqual(approvedImage({ from: "staging", version: "v4", image: V4_A }, source), V4_A);
        assert.strictEqual(approvedImage({ version: "v4", image: V4_B }, undefined), V4_B, "--image alone is taken");
        assert.throws(() => approvedImage({ from: "staging", version: "v4", image: V4_B }, source), {
            name: "PreflightError",
            message: `--image ${V4_B} is not what stack staging runs as v4 (${V4_A}): an approval is for the image that will be promoted`,
        });
        assert.throws(() => approvedImage({ from: "staging", version: "v5" }, source), {
            message: `stack staging runs v4 (${V4_A}), not v5: approve the version it runs, or name the image with --image`,
        });
        assert.throws(() => approvedImage({ from: "staging", version: "v4" }, undefined), {
            message: "stack staging does not exist or was never deployed: no image of v4 to approve",
        });
    });

    it("promote --approve needs --from (the image is read there) or --image", () => {
        const flags = (values: Record<string, string>) => () => checkApproveFlags(values, new Set(["approve"]));
        assert.throws(flags({ to: "prod", version: "v4" }), {
            name: "UsageError",
            message:
                "--approve needs --from (the image approved is the one that stack runs as --version) or --image <ref>: " +
                "npm run promote -- --approve --from staging --to prod --version v2",
        });
        assert.doesNotThrow(flags({ to: "prod", version: "v4", from: "staging" }));
        assert.doesNotThrow(flags({ to: "prod", version: "v4", image: V4_A }));
    });
});

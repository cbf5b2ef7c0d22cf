import * as assert from "assert";
import { releaseOptionsFromFlags } from "../../../stacks/cli/release";

describe("command line: gate decisions", () => {
    const flags = (...a: string[]) => releaseOptionsFromFlags(["--stack", "prod", ...a]);
    const APPROVE_V2 = ["--approve", "--version", "v2", "--gate", "50"];

    it("--approve and --abort are decisions that resume the release, with who and which gate", () => {
        const approve = flags("--approve", "--gate", "50", "--by", "alice", "--version", "v2");
        assert.strictEqual(approve.resume, true);
        assert.strictEqual(approve.version, "v2", "--version names the release the decision is for");
        assert.deepStrictEqual(approve.decision, { kind: "approve", by: "alice", gate: "50" });
        const abort = flags("--resume", "--abort", "--by", "ci bot");
        assert.deepStrictEqual(abort.decision, { kind: "abort", by: "ci bot" });
        assert.strictEqual(flags("--resume").decision, undefined);
    });

    it("the decider defaults to $GITHUB_ACTOR, then $USER", () => {
        const saved = { actor: process.env.GITHUB_ACTOR, user: process.env.USER };
        try {
            process.env.GITHUB_ACTOR = "octocat";
            process.env.USER = "runner";
            assert.strictEqual(flags(...APPROVE_V2).decision?.by, "octocat");
            delete process.env.GITHUB_ACTOR;
            assert.strictEqual(flags(...APPROVE_V2).decision?.by, "runner");
            delete process.env.USER;
            assert.throws(() => flags(...APPROVE_V2), {
                message:
                    '--by must be a name (letters, digits and -_.@+ and spaces, at most 64); got "" (from $GITHUB_ACTOR or $USER)',
            });
        } finally {
            for (const [k, v] of [
                ["GITHUB_ACTOR", saved.actor],
                ["USER", saved.user],
            ] as const) {
                if (v === undefined) {
                    delete process.env[k];
                } else {
                    process.env[k] = v;
                }
            }
        }
    });

    it("--wait-for-approval takes a duration up to a day", () => {
        assert.strictEqual(flags("--wait-for-approval", "30m").waitForApprovalMs, 1_800_000);
        assert.strictEqual(flags().waitForApprovalMs, undefined);
        assert.throws(() => flags("--wait-for-approval", "2d"), {
            message:
                '--wait-for-approval must be a Prometheus duration such as "30s", "2m" or "1m30s" (units y, w, d, h, m, s, ms, each once, largest first), from 1s to 24h; got "2d"',
        });
    });

    it("rejects meaningless combinations with exact messages", () => {
        assert.throws(() => flags("--approve", "--abort", "--by", "a"), {
            message: "use either --approve or --abort, not both",
        });
        assert.throws(() => flags("--gate", "50"), { message: "--gate needs --approve or --abort" });
        assert.throws(() => flags("--by", "alice"), { message: "--by needs --approve or --abort" });
        assert.throws(() => flags("--abort", "--by", "a", "--gate", "50"), {
            message: "--gate is for --approve: --abort rolls back from any state",
        });
        assert.throws(() => flags("--approve", "--by", "a", "--version", "v2", "--gate", "0"), {
            message: '--gate must be a step weight or "complete"; got "0"',
        });
        assert.throws(() => flags(...APPROVE_V2, "--by", "$(rm -rf)"), {
            message: '--by must be a name (letters, digits and -_.@+ and spaces, at most 64); got "$(rm -rf)"',
        });
    });

    it("--approve needs --version and --gate (as the README's CI step was written, it approved whatever waited)", () => {
        const needs = (missing: string) =>
            `--approve needs --version <label> and --gate <weight|complete> (missing: ${missing}): an approval names ` +
            "the release and the gate it approves, as the gate's message prints them (npm run release -- --stack prod " +
            "--approve --version <label> --gate <weight|complete> --image <ref>)";
        assert.throws(() => flags("--approve", "--by", "ci"), {
            name: "UsageError",
            message: needs("--version, --gate"),
        });
        assert.throws(() => flags("--approve", "--by", "ci", "--gate", "50"), { message: needs("--version") });
        assert.throws(() => flags("--approve", "--by", "ci", "--version", "v4"), { message: needs("--gate") });
        const image = "registry.example.test/shop:4";
        const bound = flags("--approve", "--by", "ci", "--version", "v4", "--gate", "complete", "--image", image);
        assert.deepStrictEqual(
            [bound.version, bound.image, bound.decision],
            ["v4", image, { kind: "approve", by: "ci", gate: "complete" }],
            "the version, the image and the gate reach the release, which checks them against what waits",
        );
        // An abort only rolls back to stable: it may name the release, but need not.
        assert.deepStrictEqual(flags("--abort", "--by", "ci").decision, { kind: "abort", by: "ci" });
        assert.strictEqual(flags("--abort", "--by", "ci", "--version", "v4").version, "v4");
    });
});

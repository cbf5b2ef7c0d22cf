/**
 * The policy pack for real: a stack named prod of this program on the local cluster and file:// backend.
 * `pulumi preview --policy-pack` and `pulumi up --policy-pack` block a shift of 0 -> 100 (the step policy reads
 * the previous weight from the stack's last deployment) with the policy's message, and let a 0 -> 20 shift
 * through; the release bot's driver reports the violation as its error.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AutomationStack, scratchWorkspace } from "../../stacks/automation/local-stack";
import { PolicyViolationError } from "../../stacks/automation/policy-packs";
import { baseConfig, E2EStack, liveWeights, REPO } from "./harness";

const NS = "shop-policy";
const POLICIES = path.join(REPO, "policies");
const STEP_MESSAGE =
    /canary-weight-step[\s\S]*VirtualService shop-policy\/shop route "weighted" would move the canary from 0% to 100% in one update; on stack prod one update may raise the canary's weight by at most 25 points/;
const FULL_MESSAGE = /canary-full-weight[\s\S]*sends 100% to the canary outside a release/;

describe("e2e: the policy pack guards shifts on prod", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;

    /** The Pulumi CLI in the stack's workspace; its exit code and everything it printed. */
    function pulumi(args: string[]): { code: number; out: string } {
        const r = spawnSync("pulumi", [...args, "--stack", stack.name, "--non-interactive", "--color", "never"], {
            cwd: stack.workDir,
            encoding: "utf8",
            env: { ...process.env, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    }

    before(async () => {
        // A workspace of its own: the committed Pulumi.prod.yaml (a real cluster's settings) stays out of it.
        stack = await E2EStack.create(
            "prod",
            baseConfig(NS, { canaryImage: "registry.example.test/shop:2.0.0", canaryVersion: "v2" }),
            scratchWorkspace(REPO, "e2e-policy"),
        );
        await stack.up();
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
    });

    after(async () => {
        const dir = stack?.workDir;
        try {
            await stack?.destroyAndRemove();
        } finally {
            if (dir !== undefined) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
    });

    it("pulumi preview --policy-pack blocks 0 -> 100 with the policies' messages", async () => {
        await stack.set({ canaryWeight: "100" });
        const r = pulumi(["preview", "--policy-pack", POLICIES]);
        assert.notStrictEqual(r.code, 0, r.out);
        assert.match(r.out, STEP_MESSAGE);
        assert.match(r.out, FULL_MESSAGE);
    });

    it("pulumi up --policy-pack blocks it before anything changes", () => {
        const r = pulumi(["up", "--yes", "--skip-preview", "--policy-pack", POLICIES]);
        assert.notStrictEqual(r.code, 0, r.out);
        assert.match(r.out, STEP_MESSAGE);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
    });

    it("lets a shift within the step through, in preview and up", async () => {
        await stack.set({ canaryWeight: "20" });
        const preview = pulumi(["preview", "--policy-pack", POLICIES]);
        assert.strictEqual(preview.code, 0, preview.out);
        assert.match(preview.out, /istio-canary@v0\.1\.0/);
        const up = pulumi(["up", "--yes", "--policy-pack", POLICIES]);
        assert.strictEqual(up.code, 0, up.out);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 80],
            ["canary", 20],
        ]);
    });

    it("measures the next step from the new last deployment: 20 -> 45 passes, 45 -> 100 does not", async () => {
        const driver = await AutomationStack.open(stack.name, stack.workDir);
        await stack.set({ canaryWeight: "45" });
        await driver.up({ policyPacks: [POLICIES] });
        assert.deepStrictEqual(liveWeights(NS, "shop")[1], ["canary", 45]);
        await stack.set({ canaryWeight: "100" });
        const error = await driver.up({ policyPacks: [POLICIES] }).then(
            () => undefined,
            (e: unknown) => e,
        );
        assert.ok(error instanceof PolicyViolationError, String(error));
        assert.match(error.message, /^policy canary-weight-step \(istio-canary\): .* from 45% to 100% in one update/m);
        assert.match(error.message, /^policy canary-full-weight \(istio-canary\): /m);
        assert.deepStrictEqual(liveWeights(NS, "shop")[1], ["canary", 45]);
        await stack.set({ canaryWeight: "0" });
        await driver.up({ policyPacks: [POLICIES] }); // back to stable: any step down passes
        assert.deepStrictEqual(liveWeights(NS, "shop")[1], ["canary", 0]);
    });
});

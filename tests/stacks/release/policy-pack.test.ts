/**
 * The release bot with a policy pack named in stack config (releasePolicyPack): every preview and update runs it, and a
 * mandatory violation stops the release with the policy's message as the reason; traffic goes back to stable.
 */
import * as assert from "assert";
import { PreviewOptions, PreviewResult, UpOptions, UpSummary } from "../../../stacks/automation/driver";
import { PolicyViolationError } from "../../../stacks/automation/policy-packs";
import { FakeStack, health } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

/** A stack whose updates record the policy packs they ran, and fail like a step policy above `maxStep`. */
class GuardedStack extends FakeStack {
    readonly packs: (string[] | undefined)[] = [];
    readonly packConfigs: (string[] | undefined)[] = [];
    readonly previewPacks: (string[] | undefined)[] = [];
    private deployedWeight = 0;

    constructor(
        config: Record<string, string>,
        private readonly maxStep: number,
    ) {
        super(config);
    }

    override preview(opts: PreviewOptions = {}): Promise<PreviewResult> {
        this.previewPacks.push(opts.policyPacks);
        return super.preview(opts);
    }

    override up(opts: UpOptions = {}): Promise<UpSummary> {
        this.packs.push(opts.policyPacks);
        this.packConfigs.push(opts.policyPackConfigs);
        const weight = Number(this.config.canaryWeight ?? "0");
        if (opts.policyPacks !== undefined && weight - this.deployedWeight > this.maxStep) {
            return Promise.reject(
                new PolicyViolationError([
                    `policy canary-weight-step (istio-canary): VirtualService prod/shop route "weighted" would move the canary from ${this.deployedWeight}% to ${weight}% in one update`,
                ]),
            );
        }
        this.deployedWeight = weight;
        return super.up(opts);
    }
}

describe("release bot with a policy pack", function () {
    this.timeout(20000);
    const b = releaseBench();

    it("runs the stack's policy pack, with its config, on every update", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new GuardedStack(
            stackConfig({ releasePolicyPack: "policies", releasePolicyPackConfig: "policies/prod.json" }),
            100,
        );
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "completed");
        assert.ok(stack.packs.length >= 8);
        assert.ok(stack.packs.every((p) => p?.length === 1 && p[0] === "policies"));
        assert.ok(stack.packConfigs.every((p) => p?.length === 1 && p[0] === "policies/prod.json"));
        // The plan guard's previews run it too, so a violation shows before anything changes.
        assert.ok(stack.previewPacks.length >= 1);
        assert.ok(stack.previewPacks.every((p) => p?.length === 1 && p[0] === "policies"));
    });

    it("stops at a violating shift with the policy's message, and puts traffic back on stable", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new GuardedStack(stackConfig({ releasePolicyPack: "policies", releaseSteps: "10,60,100" }), 25);
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "rolled-back");
        assert.strictEqual(
            result.reason,
            'pulumi up failed at steps 60: policy canary-weight-step (istio-canary): VirtualService prod/shop route "weighted" would move the canary from 10% to 60% in one update',
        );
        assert.deepStrictEqual(stack.weights().slice(0, 2), [0, 10], "the violating shift never deployed");
        assert.strictEqual(stack.config.canaryWeight, "0");
    });

    it("runs no pack when the stack names none", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new GuardedStack(stackConfig(), 25);
        assert.strictEqual((await b.run(stack)).outcome, "completed");
        assert.ok(stack.packs.every((p) => p === undefined));
        assert.ok(stack.previewPacks.every((p) => p === undefined));
    });
});

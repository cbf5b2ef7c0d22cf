import * as assert from "assert";
import { parsePolicy } from "../../../config/policy";
import { firstLine } from "../../../stacks/automation/driver";
import { imageTag } from "../../../components/validation";
import { planStages } from "../../../stacks/release/plan";

describe("release helpers", () => {
    it("imageTag takes the tag, not a registry port", () => {
        assert.strictEqual(imageTag("registry.example.test:5000/shop:2.0.0"), "2.0.0");
        assert.strictEqual(imageTag("registry.example.test:5000/shop"), undefined);
        assert.strictEqual(imageTag("shop:v2@sha256:" + "a".repeat(64)), "v2");
    });

    it("firstLine: the engine's error line, with the errors it only announces", () => {
        const engine = [
            "Command failed with exit code 255: pulumi up --yes",
            "error: Preview failed: 1 error occurred:",
            "\t* the Kubernetes API server reported a conflict with field manager istio-canary-rollback",
            "",
            "Resources: 2 unchanged",
        ].join("\n");
        assert.strictEqual(
            firstLine(engine),
            "error: Preview failed: 1 error occurred: * the Kubernetes API server reported a conflict with field manager istio-canary-rollback",
        );
        assert.strictEqual(firstLine("warning: x\nerror: update failed\n  * not listed"), "error: update failed");
    });

    it("planStages: mirror, header, then the steps", () => {
        const policy = parsePolicy({
            releaseSteps: "20,100",
            releaseMirrorPercent: "10",
            releaseHeaderPhase: "true",
        });
        assert.deepStrictEqual(
            planStages(policy).map((s) => `${s.phase}:${s.weight}`),
            ["mirror:0", "header:0", "steps:20", "steps:100"],
        );
    });

    it("rejects a policy with steps that do not end at 100", () => {
        assert.throws(() => parsePolicy({ releaseSteps: "10,50" }), {
            message:
                'releaseSteps must be a comma-separated list of increasing integers from 1 to 100 ending at 100, such as "10,25,50,100"; got "10,50"',
        });
    });
});

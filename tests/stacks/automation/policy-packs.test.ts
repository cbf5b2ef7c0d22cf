import * as assert from "assert";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { PolicyViolationError, PolicyWatch } from "../../../stacks/automation/policy-packs";

const policyEvent = (enforcementLevel: "warning" | "mandatory", policyName: string, message: string) =>
    ({
        sequence: 1,
        timestamp: 0,
        policyEvent: {
            message,
            color: "never",
            policyName,
            policyPackName: "istio-canary",
            policyPackVersion: "",
            policyPackVersionTag: "",
            enforcementLevel,
        },
    }) as EngineEvent;

describe("policy packs on an update", () => {
    it("adds nothing without packs", () => {
        assert.deepStrictEqual(new PolicyWatch().options({}, "/repo"), {});
    });

    it("resolves pack paths from the project directory", () => {
        const o = new PolicyWatch().options(
            { policyPacks: ["policies", "/abs/pack"], policyPackConfigs: ["policies/prod.json"] },
            "/repo",
        );
        assert.deepStrictEqual(o.policyPacks, ["/repo/policies", "/abs/pack"]);
        assert.deepStrictEqual(o.policyPackConfigs, ["/repo/policies/prod.json"]);
    });

    it("turns a failed update's mandatory violations into its error, once each", () => {
        const watch = new PolicyWatch();
        const { onEvent } = watch.options({ policyPacks: ["policies"] }, "/repo");
        onEvent!(policyEvent("warning", "images-pinned", "runs :latest"));
        onEvent!(policyEvent("mandatory", "canary-weight-step", "would move the canary\n  from 0% to 100%"));
        onEvent!(policyEvent("mandatory", "canary-weight-step", "would move the canary\n  from 0% to 100%"));
        const e = watch.error(new Error("update failed"));
        assert.ok(e instanceof PolicyViolationError);
        assert.strictEqual(
            e.message,
            "policy canary-weight-step (istio-canary): would move the canary from 0% to 100%",
        );
        const other = new Error("connection refused");
        assert.strictEqual(new PolicyWatch().error(other), other);
    });
});

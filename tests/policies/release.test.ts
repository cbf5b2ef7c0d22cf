import * as assert from "assert";
import { lastDeployment, stackConfig } from "../../policies/deployment";
import { Props, StackResource } from "../../policies/kube";
import { ReleaseContext, releasePolicies } from "../../policies/release";
import { one, release, runResource, VS } from "./fixtures";

/** The release policies with a last deployment of `previous` (by URN) and stack config `config`. */
function policiesWith(previous: StackResource[] = [], config: Record<string, string> = {}) {
    const ctx: ReleaseContext = {
        previous: (urn) => Promise.resolve(previous.find((r) => r.urn === urn)?.props),
        config: () => config,
    };
    const [step, full] = releasePolicies(ctx);
    return { step, full };
}

const vsAt = async (canaryWeight: number, stack = "prod") => one(await release({ canaryWeight }, stack), VS);

describe("policy canary-weight-step", () => {
    it("fails 0 -> 100 on prod, measured from the last deployment", async () => {
        const { step } = policiesWith([await vsAt(0)]);
        assert.deepStrictEqual(await runResource(step, await vsAt(100)), [
            "VirtualService prod/shop route \"weighted\" would move the canary from 0% to 100% in one update; on stack prod one update may raise the canary's weight by at most 25 points (from the stack's last deployment)",
        ]);
    });

    it("allows steps up to the limit, any step down (a rollback), and the first deployment's small weights", async () => {
        const at50 = policiesWith([await vsAt(50)]).step;
        assert.deepStrictEqual(await runResource(at50, await vsAt(75)), []);
        assert.deepStrictEqual(await runResource(at50, await vsAt(0)), []);
        const fresh = policiesWith([]).step;
        assert.deepStrictEqual(await runResource(fresh, await vsAt(25)), []);
        assert.strictEqual((await runResource(fresh, await vsAt(26))).length, 1);
    });

    it("takes its step and stacks from the pack config", async () => {
        const { step } = policiesWith([await vsAt(10)]);
        assert.deepStrictEqual(await runResource(step, await vsAt(25), { maxStep: 10 }), [
            "VirtualService prod/shop route \"weighted\" would move the canary from 10% to 25% in one update; on stack prod one update may raise the canary's weight by at most 10 points (from the stack's last deployment)",
        ]);
        const dev = policiesWith([await vsAt(0, "dev")]).step;
        assert.deepStrictEqual(await runResource(dev, await vsAt(100, "dev")), []);
        assert.strictEqual((await runResource(dev, await vsAt(100, "dev"), { stacks: ["dev"] })).length, 1);
    });

    it("reports a last deployment it cannot read instead of passing", async () => {
        const step = releasePolicies({
            previous: () => Promise.reject(new Error("pulumi stack export failed: no stack named prod")),
            config: () => ({}),
        })[0];
        assert.deepStrictEqual(await runResource(step, await vsAt(10)), [
            "cannot check the canary's step on stack prod: pulumi stack export failed: no stack named prod",
        ]);
    });
});

describe("policy canary-full-weight", () => {
    it("fails 100% on the canary on prod outside a release", async () => {
        const { full } = policiesWith([], { "istio-canary:releaseStatus": "completed" });
        assert.deepStrictEqual(await runResource(full, await vsAt(100)), [
            'VirtualService prod/shop route "weighted" sends 100% to the canary outside a release: on stack prod the canary carries all traffic only in a release the release bot completes (istio-canary:releaseStatus is "completed", not "in-progress")',
        ]);
        assert.match(
            (await runResource(policiesWith().full, await vsAt(100)))[0],
            /istio-canary:releaseStatus is unset/,
        );
    });

    it("allows it during a release, below 100, and on other stacks", async () => {
        const { full } = policiesWith([], { "istio-canary:releaseStatus": "in-progress" });
        assert.deepStrictEqual(await runResource(full, await vsAt(100)), []);
        assert.deepStrictEqual(await runResource(policiesWith().full, await vsAt(99)), []);
        assert.deepStrictEqual(await runResource(policiesWith().full, await vsAt(100, "staging")), []);
    });

    it("does not count a header route's 100% (only requests that ask for the canary)", async () => {
        const vs = one(await release({ canaryWeight: 0, canaryHeader: { name: "x-canary", value: "1" } }), VS);
        assert.deepStrictEqual(await runResource(policiesWith().full, vs), []);
    });
});

describe("release policies' context", () => {
    const checkpoint = (resources: { urn: string; outputs?: Props; inputs?: Props }[]) =>
        JSON.stringify({ version: 3, deployment: { resources } });

    it("reads the last deployment once per stack with pulumi stack export, by its full name", async () => {
        const calls: string[][] = [];
        const previous = lastDeployment(
            (cmd, args) => {
                calls.push([cmd, ...args]);
                return Promise.resolve(
                    checkpoint([
                        { urn: "urn:pulumi:prod::shop::t::a", outputs: { spec: { n: 1 } }, inputs: { spec: { n: 0 } } },
                        { urn: "urn:pulumi:prod::shop::t::b", inputs: { spec: { n: 2 } } },
                    ]),
                );
            },
            { PULUMI_NODEJS_ORGANIZATION: "acme" },
        );
        assert.deepStrictEqual(await previous("urn:pulumi:prod::shop::t::a"), { spec: { n: 1 } });
        assert.deepStrictEqual(await previous("urn:pulumi:prod::shop::t::b"), { spec: { n: 2 } });
        assert.strictEqual(await previous("urn:pulumi:prod::shop::t::c"), undefined);
        assert.deepStrictEqual(calls, [["pulumi", "stack", "export", "--stack", "acme/shop/prod"]]);
        const self = lastDeployment((_cmd, args) => (calls.push(args), Promise.resolve(checkpoint([]))), {});
        await self("urn:pulumi:dev::shop::t::a");
        assert.deepStrictEqual(calls.at(-1), ["stack", "export", "--stack", "organization/shop/dev"]);
    });

    it("reads the stack config the language host passes in PULUMI_CONFIG", () => {
        assert.deepStrictEqual(stackConfig({ PULUMI_CONFIG: '{"istio-canary:releaseStatus":"in-progress"}' }), {
            "istio-canary:releaseStatus": "in-progress",
        });
        assert.deepStrictEqual(stackConfig({}), {});
        assert.deepStrictEqual(stackConfig({ PULUMI_CONFIG: "not json" }), {});
    });
});

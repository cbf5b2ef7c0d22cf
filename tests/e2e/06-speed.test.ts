/**
 * The fast rollback for real: the bot (runRelease, its program inline) patches the live VirtualService through
 * the API server, then records it with `pulumi up`; afterwards state, config and the live object agree, and
 * Pulumi alone manages the routes again. The bot drives the stack inline; preview, refresh and the shifts in
 * between run the program through main.js, as `pulumi up` does.
 */
import * as assert from "assert";
import { InlineStack } from "../../stacks/automation/inline-stack";
import { KubeApi, kubeAccess } from "../../stacks/automation/kube-api";
import { KubeRouting, ROLLBACK_FIELD_MANAGER } from "../../stacks/automation/routing-patch";
import { MetricsSource } from "../../stacks/release/prometheus";
import { runRelease } from "../../stacks/release/run";
import { ReleaseResult } from "../../stacks/release/result";
import { baseConfig, E2EStack, istioChecks, kubectl, liveWeights } from "./harness";

const NS = "shop-speed";

/** Every query answers 0: the success rate fails, so the bot rolls back after its first shift. */
const failing: MetricsSource = {
    query: () => Promise.resolve({ kind: "value", value: 0 }),
    ping: () => Promise.resolve(),
};

describe("e2e: fast rollback (direct routing patch, then the update that records it)", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let bot: InlineStack;
    let release = 0;

    before(async () => {
        stack = await E2EStack.create(
            "e2e-speed",
            baseConfig(NS, { canaryHeader: "x-canary", mirrorPercent: "5", releaseSteps: "40,100" }),
        );
        await stack.up();
        bot = await InlineStack.open(stack.name, stack.workDir);
    });

    after(async () => {
        await stack?.destroyAndRemove();
    });

    /** A release that fails its first analysis (at weight 40) and rolls back. */
    async function failingRelease(routing?: KubeRouting): Promise<ReleaseResult> {
        release++;
        const lines: string[] = [];
        await istioChecks.idle(); // the bot's updates change the cluster: the last change's check comes first
        const result = await runRelease(
            { image: `registry.example.test/shop:2.0.${release}`, policy: { failureThreshold: 1 } },
            {
                stack: bot,
                routing,
                metrics: failing,
                clock: { now: () => new Date(), sleep: async () => {} },
                log: (l) => lines.push(l),
            },
        );
        assert.strictEqual(result.outcome, "rolled-back", lines.join("\n"));
        return result;
    }

    /** Preview shows no changes, refresh shows no drift: the stack's state, its config and the live objects agree. */
    async function assertAgree(): Promise<void> {
        const preview = await stack.stack.preview();
        assert.deepStrictEqual(Object.keys(preview.changeSummary), ["same"], JSON.stringify(preview.changeSummary));
        const refresh = await stack.stack.previewRefresh();
        assert.deepStrictEqual(Object.keys(refresh.changeSummary), ["same"], JSON.stringify(refresh.changeSummary));
    }

    /** Field managers of the live VirtualService. */
    const managers = () => {
        const args = [
            "get",
            "virtualservices.networking.istio.io",
            "-n",
            NS,
            "shop",
            "-o",
            "json",
            "--show-managed-fields",
        ];
        const vs = JSON.parse(kubectl(args)) as { metadata: { managedFields: { manager: string }[] } };
        return vs.metadata.managedFields.map((m) => m.manager);
    };

    it("traffic is on stable at the patch; then state, config and live agree, history shows it, Pulumi alone manages the routes", async () => {
        const routing = KubeRouting.fromKubeconfig();
        let result: ReleaseResult;
        try {
            result = await failingRelease(routing);
        } finally {
            routing.close();
        }
        const toStable = result.events.find((e) => /time to stable/.test(e.message))!;
        assert.match(toStable.message, /direct patch of VirtualService shop-speed\/shop/);
        assert.ok(result.events.some((e) => /^routing recorded in the stack/.test(e.message)));
        assert.ok(!result.events.some((e) => e.kind === "error"), JSON.stringify(result.events, null, 1));
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        await assertAgree();
        const history = await stack.stack.history();
        const messages = history.map((h) => h.message);
        assert.ok(messages.includes("release 2.0.1: rollback (routing)"), messages.join("\n"));
        const rolledBack = history.find((h) => h.message === "release 2.0.1: rollback (routing)")!;
        assert.strictEqual(rolledBack.config["istio-canary:canaryWeight"].value, "0");
        assert.ok(!managers().includes(ROLLBACK_FIELD_MANAGER), managers().join(", "));
        assert.ok(
            managers().some((m) => m.startsWith("pulumi-kubernetes")),
            managers().join(", "),
        );
        // The next shift applies over the patched routes without a field-manager conflict.
        const canary = { canaryImage: "registry.example.test/shop:2.0.9", canaryVersion: "2.0.9" };
        await stack.set({ ...canary, canaryWeight: "20" });
        await stack.up();
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 80],
            ["canary", 20],
        ]);
        await stack.set({ canaryImage: undefined, canaryVersion: undefined, canaryWeight: "0" });
        await stack.up();
    });

    it("falls back to the targeted update when the patch fails", async () => {
        // The kubeconfig's credentials, but a server that is not there.
        const access = kubeAccess();
        const routing = new KubeRouting(new KubeApi({ ...access, server: "https://127.0.0.1:1" }));
        const result = await failingRelease(routing);
        routing.close();
        assert.ok(
            result.events.some((e) =>
                /^direct routing patch failed; rolling back by update instead: .*ECONNREFUSED/.test(e.message),
            ),
        );
        assert.ok(result.events.some((e) => /time to stable; targeted update of the VirtualService/.test(e.message)));
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        await assertAgree();
    });
});

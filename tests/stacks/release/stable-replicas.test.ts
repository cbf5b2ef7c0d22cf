/**
 * With autoscaling, the bot pins the stable's live replica count (what its HPA chose) in every update while a
 * canary runs (`releaseStableReplicas`): the canary HPA's minimum is the weight's share of it, and the update's
 * preview, its saved plan and the update itself agree on it even when the HPA moves in between.
 */
import * as assert from "assert";
import { ReplicaSource } from "../../../stacks/automation/kube-workloads";
import { FakeStack, health } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

/** Live replica counts: the next of `counts` at each read (the last one repeats), or an error once `failFrom` is reached. */
class FakeWorkloads implements ReplicaSource {
    readonly reads: string[] = [];
    constructor(
        private readonly counts: number[],
        private readonly failFrom = Infinity,
    ) {}
    replicas(namespace: string, deployment: string): Promise<number | undefined> {
        this.reads.push(`${namespace}/${deployment}`);
        if (this.reads.length > this.failFrom) {
            return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
        }
        return Promise.resolve(this.counts[Math.min(this.reads.length, this.counts.length) - 1]);
    }
}

const AUTOSCALING = { autoscaling: "true", autoscalingMaxReplicas: "12", replicas: "4" };

describe("release bot with autoscaling: the stable's live replicas pinned in its updates (fake stack and cluster)", function () {
    this.timeout(20000);
    const b = releaseBench();

    it("each update while the canary runs pins the count read just before it; the recorded completion unpins it", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new FakeStack(stackConfig(AUTOSCALING));
        const workloads = new FakeWorkloads([4, 5, 6, 7, 8, 9, 10]);
        const result = await b.run(stack, undefined, { workloads });
        assert.strictEqual(result.outcome, "completed");
        assert.ok(
            workloads.reads.length > 0 && workloads.reads.every((r) => r === "prod/shop-stable"),
            workloads.reads.join(),
        );
        const pinned = stack.ups.map((u) => [u.config.canaryImage !== undefined, u.config.releaseStableReplicas]);
        // Start, the four steps, the stable's roll, the route to stable: a canary runs, each pins the next read.
        const withCanary = pinned.filter(([canary]) => canary).map(([, n]) => n);
        assert.deepStrictEqual(withCanary, ["4", "5", "6", "7", "8", "9", "10"], JSON.stringify(pinned));
        assert.deepStrictEqual(pinned.at(-1), [false, undefined], "no canary, nothing pinned");
        assert.strictEqual(stack.config.releaseStableReplicas, undefined);
    });

    it("without autoscaling nothing is read and nothing pinned", async () => {
        b.prom.answer = health(99.9, 120);
        const stack = new FakeStack(stackConfig());
        const workloads = new FakeWorkloads([6]);
        const result = await b.run(stack, undefined, { workloads });
        assert.strictEqual(result.outcome, "completed");
        assert.deepStrictEqual(workloads.reads, []);
        assert.ok(stack.ups.every((u) => u.config.releaseStableReplicas === undefined));
    });

    it("a count that cannot be read keeps the last one pinned, and never holds back the rollback", async () => {
        const stack = new FakeStack(stackConfig({ ...AUTOSCALING, releaseFailureThreshold: "1" }));
        b.prom.answer = (q) => health(Number(stack.config.canaryWeight) >= 25 ? 80 : 99.9, 100)(q);
        const workloads = new FakeWorkloads([6], 1);
        const result = await b.run(stack, undefined, { workloads });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(stack.weights().slice(-2), [0, 0], "traffic back on stable");
        const withCanary = stack.ups.filter((u) => u.config.canaryImage !== undefined);
        assert.ok(withCanary.length >= 3);
        assert.ok(
            withCanary.every((u) => u.config.releaseStableReplicas === "6"),
            JSON.stringify(withCanary.map((u) => u.config.releaseStableReplicas)),
        );
    });
});

/**
 * Autoscaling for real: kube-controller-manager's HPA controller scales the tracks on the resource metrics API
 * (metrics-server, scraping kwok's kubelet-style metrics; scripts/cluster/metrics.sh). The test plays the load: a
 * total CPU usage split between the tracks by the weight and spread over each track's pods, written to the pods'
 * kwok.x-k8s.io/usage-cpu annotations (checked every second, written when they change). Replica counts over time are printed after each scenario.
 *
 * The release steps are the program's updates the bot makes (a shift, the rollback's two updates, the completion's
 * three), applied with `pulumi up` on the stack config. Each update reads the stable's live replica count (what its
 * HPA chose) while a canary exists: the canary's minimum is the weight's share of it.
 */
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import { promisify } from "util";
import { canaryBounds } from "../../components/autoscaling";
import { KubeApi } from "../../stacks/automation/kube-api";
import { baseConfig, E2EStack, live, operations } from "./harness";

const run = promisify(execFile);
const NS = "shop-autoscaling";
const REPLICAS = 4;
const MAX = 12;
/** The app container's CPU request is 100m and the HPAs keep the pods at 50% of theirs. */
const TARGET_CPU = 50;

/** Millicores of a CPU quantity ("100m", "2", "0.5"). */
const milli = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);

/**
 * A pod's CPU request as the HPA counts it: its containers' and its sidecars' (restartable init containers, such as
 * the injected istio-proxy) requests. kwok reports the annotated usage for the app container alone.
 */
function podCpuRequest(pod: {
    spec: { containers: ContainerSpec[]; initContainers?: (ContainerSpec & { restartPolicy?: string })[] };
}): number {
    const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
    return [...pod.spec.containers, ...sidecars].reduce((sum, c) => sum + milli(c.resources?.requests?.cpu ?? "0"), 0);
}
interface ContainerSpec {
    resources?: { requests?: { cpu?: string } };
}

const kubectl = async (args: string[]) =>
    (await run(process.env.KUBECTL ?? "kubectl", args, { encoding: "utf8" })).stdout.trim();

/** Replicas of a track's Deployment (spec), or 0 when it does not exist. */
function replicas(track: string): number {
    return (live("deployment", NS, `shop-${track}`)?.spec.replicas as number | undefined) ?? 0;
}

/** A field manager of the Kubernetes provider's (server-side apply). */
const byPulumi = (manager: string) => manager.startsWith("pulumi");

/** The field managers that own the stable Deployment's spec.replicas (the HPA's: kube-controller-manager). */
function replicaOwners(): string[] {
    const d = JSON.parse(
        execFileSync(
            process.env.KUBECTL ?? "kubectl",
            ["get", "deployment", "-n", NS, "shop-stable", "-o", "json", "--show-managed-fields"],
            {
                encoding: "utf8",
            },
        ),
    ) as { metadata: { managedFields: { manager: string; fieldsV1?: { "f:spec"?: Record<string, unknown> } }[] } };
    return d.metadata.managedFields
        .filter((m) => m.fieldsV1?.["f:spec"]?.["f:replicas"] !== undefined)
        .map((m) => m.manager)
        .sort();
}

/** The suite's API server, for the reads the load and the samples repeat every second (no kubectl process each). */
let api: KubeApi | undefined;

/** Pods of a track that exist (any phase), as `pod/<name>` (kubectl's `-o name`). */
async function podsOf(track: string): Promise<string[]> {
    api ??= KubeApi.fromKubeconfig();
    const selector = encodeURIComponent(`app=shop,track=${track}`);
    const list = await api.request<{ items: { metadata: { name: string } }[] }>(
        "GET",
        `/api/v1/namespaces/${NS}/pods?labelSelector=${selector}`,
    );
    return list.items.map((p) => `pod/${p.metadata.name}`).sort();
}

describe("e2e: autoscaling during a canary", function () {
    this.timeout(15 * 60 * 1000);
    let stack: E2EStack;
    /** Total CPU usage of the app (millicores), and the canary's share (the weight the load follows). */
    const load = { total: 0, canaryWeight: 0 };
    const timeline: string[] = [];
    let t0 = Date.now();
    let stopped = false;
    let loops: Promise<void>[] = [];

    /**
     * The load is given in millicores of the app container's 100m request; each pod gets it in proportion to its
     * whole request (with an injected sidecar's, 100m more), so that utilization is what the comments say.
     */
    let podRequest = 100;
    /** The usage last written to each pod, so that only changes are written (the suite is CPU-bound). */
    const written = new Map<string, string>();

    /** Spreads the load over each track's pods: usage-cpu = the track's share / its pods. */
    async function applyLoad(): Promise<void> {
        for (const track of ["stable", "canary"]) {
            const pods = await podsOf(track);
            const share = track === "canary" ? load.canaryWeight : 100 - load.canaryWeight;
            const perPod = (load.total * share) / 100 / Math.max(1, pods.length);
            const usage = `${Math.max(1, Math.round((perPod * podRequest) / 100))}m`;
            const stale = pods.filter((p) => written.get(p) !== usage);
            if (stale.length > 0) {
                await kubectl(["annotate", "-n", NS, "--overwrite", ...stale, `kwok.x-k8s.io/usage-cpu=${usage}`]);
                stale.forEach((p) => written.set(p, usage));
            }
        }
    }

    /** One line: seconds, the Deployments' replicas, the canary's pods and HPA bounds. */
    async function sample(): Promise<string> {
        const hpa = live("hpa", NS, "shop-canary");
        const line =
            `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  stable ${replicas("stable")}  canary ` +
            `${replicas("canary")} (${(await podsOf("canary")).length} pods, HPA ` +
            `${hpa ? `${hpa.spec.minReplicas}..${hpa.spec.maxReplicas}` : "none"})  load ${load.total}m @ ${load.canaryWeight}%`;
        timeline.push(line);
        return line;
    }

    const every = (ms: number, body: () => Promise<unknown>, done = () => stopped) =>
        (async () => {
            while (!done()) {
                await body().catch(() => undefined);
                await new Promise((r) => setTimeout(r, ms));
            }
        })();

    /** Waits until `ok()` holds (sampled every second), or fails with the timeline. */
    async function until(what: string, ok: () => boolean, seconds = 150): Promise<void> {
        const end = Date.now() + seconds * 1000;
        while (!ok()) {
            if (Date.now() > end) {
                assert.fail(`timed out after ${seconds} s waiting for ${what}:\n${timeline.join("\n")}`);
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
    }

    function printTimeline(title: string): void {
        console.log(`      replica counts over time (${title}):\n${timeline.map((l) => `        ${l}`).join("\n")}`);
        timeline.length = 0;
    }

    before(async () => {
        assert.ok(
            live("apiservice", "", "v1beta1.metrics.k8s.io"),
            "the cluster has no resource metrics API: start it with CLUSTER_METRICS=1 (the e2e toolchain's default)",
        );
        stack = await E2EStack.create(
            "e2e-autoscaling",
            baseConfig(NS, {
                replicas: String(REPLICAS),
                autoscaling: "true",
                autoscalingMaxReplicas: String(MAX),
                autoscalingTargetCpu: String(TARGET_CPU),
                // Scale-in waits out 30 s of recommendations: a rolling update's new pods, briefly without usage,
                // do not make the HPA drop pods (the test reads replica counts right after updates).
                autoscalingScaleDownSeconds: "30",
            }),
        );
        await stack.up();
        const [pod] = JSON.parse(
            await kubectl(["get", "pods", "-n", NS, "-l", "app=shop,track=stable", "-o", "json"]),
        ).items;
        podRequest = podCpuRequest(pod);
        console.log(`      a pod's CPU request as the HPA counts it: ${podRequest}m`);
        t0 = Date.now();
        loops = [every(1000, applyLoad), every(2000, sample)];
    });

    after(async () => {
        stopped = true;
        await Promise.all(loops);
        api?.close();
        await stack?.destroyAndRemove();
    });

    it("usage rises on the stable at weight 25: its HPA scales out, the next shift leaves the counts, the canary's minimum follows the weight and the stable's live replicas", async () => {
        await stack.set({ canaryImage: "registry.example.test/shop:2.0.0", canaryVersion: "v2", canaryWeight: "25" });
        await stack.up();
        load.canaryWeight = 25;
        load.total = 400; // stable: 300m over 4 pods, 150% of target -> 6 pods; canary: 100m -> 2 pods
        await until("the stable's HPA to scale out past replicas", () => replicas("stable") >= 6);
        const before = replicas("stable");
        await stack.set({ canaryWeight: "50" });
        const shift = await stack.up();
        const ops = operations(shift.events);
        assert.strictEqual(ops["shop-stable"], "same", JSON.stringify(ops));
        assert.strictEqual(ops["shop-canary"], "same", JSON.stringify(ops));
        assert.strictEqual(ops["shop-canary-hpa"], "update", JSON.stringify(ops));
        assert.strictEqual(ops["shop-stable-hpa"], "same", JSON.stringify(ops));
        const after = replicas("stable");
        assert.strictEqual(ops["shop-stable-live"], "read", "the shift read the stable's live replica count");
        assert.ok(after >= Math.min(before, MAX) - 1, `the shift reset the stable: ${await sample()}`);
        assert.notStrictEqual(after, REPLICAS, "the shift did not reset the stable to `replicas`");
        // The canary's minimum is half of the stable's live replicas (what its HPA chose when the shift read them),
        // not half of its minimum: a shift to 50% does not land on the minimum's share.
        const hpa = live("hpa", NS, "shop-canary")!;
        const bounds = { minReplicas: REPLICAS, maxReplicas: MAX };
        const got = { minReplicas: hpa.spec.minReplicas as number, maxReplicas: hpa.spec.maxReplicas as number };
        const wants = [before, after].map((n) => canaryBounds(50, bounds, n));
        assert.ok(
            wants.some((w) => w.minReplicas === got.minReplicas && w.maxReplicas === got.maxReplicas),
            `canary HPA ${JSON.stringify(got)}; stable at ${before} before the shift and ${after} after: want one of ${JSON.stringify(wants)}`,
        );
        assert.ok(got.minReplicas > canaryBounds(50, bounds).minReplicas, "above the share of the stable's minimum");
        console.log(
            `      shift to 50 with the stable at ${before} pods (minimum ${REPLICAS}): canary HPA ${got.minReplicas}..${got.maxReplicas}`,
        );
        load.canaryWeight = 50;
        await until("the canary at its new minimum", () => replicas("canary") >= got.minReplicas, 60);
        await sample();
        printTimeline("scenario 1");
    });

    it("abort at weight 50, then a stable scale-up: the canary stays at zero (argo-rollouts#4973)", async () => {
        await stack.set({ canaryWeight: "0" });
        load.canaryWeight = 0;
        await stack.up();
        await stack.set({ canaryImage: undefined, canaryVersion: undefined });
        const cleanup = await stack.up();
        const ops = operations(cleanup.events);
        assert.strictEqual(ops["shop-canary-hpa"], "delete", JSON.stringify(ops));
        assert.strictEqual(ops["shop-canary"], "delete", JSON.stringify(ops));
        const canaryPods: number[] = [];
        let watching = true;
        const watch = every(
            1000,
            async () => canaryPods.push((await podsOf("canary")).length),
            () => !watching || stopped, // a failed wait below leaves `watching` set: `after` still ends the loop
        );
        // All on stable, more than its maximum's worth: 700m wants 14 pods, so its HPA goes to 12 whatever steps it
        // takes (with 600m, exactly 12 pods' worth, a scale-up that stopped at 11 would stay there: 55% of the 50%
        // target is within the HPA's 10% tolerance; a CI run saw 8 -> 9 -> 11 and no more).
        load.total = 700;
        await until("the stable's scale-up to its maximum", () => replicas("stable") >= MAX);
        await new Promise((r) => setTimeout(r, 15_000)); // three more HPA syncs
        // At least ten looks at the canary's pods, however slowly a busy machine answers each (each is an API call).
        await until("ten samples of the canary's pods", () => canaryPods.length >= 10, 60);
        watching = false;
        await watch;
        assert.strictEqual(live("deployment", NS, "shop-canary"), undefined);
        assert.strictEqual(live("hpa", NS, "shop-canary"), undefined);
        assert.ok(canaryPods.length >= 10, `${canaryPods.length} samples`);
        assert.ok(
            canaryPods.slice(5).every((n) => n === 0),
            `canary pods after the abort: ${canaryPods.join(",")}`,
        );
        await sample();
        printTimeline("scenario 2");
    });

    it("completion: one HPA governs the new stable, no second set of pods left running", async () => {
        await stack.set({ canaryImage: "registry.example.test/shop:2.0.0", canaryVersion: "v2", canaryWeight: "50" });
        await stack.up();
        load.canaryWeight = 50;
        load.total = 600;
        // 600m at 50%: 300m per track, 6 pods each (the stable scales in from 12, the canary out from 2).
        await until("both tracks at 6 pods", () => replicas("stable") === 6 && replicas("canary") === 6);
        // The completion's three updates: stable rolls to the new version, traffic to stable, the canary retired.
        // The first changes the stable's pod template: the update keeps the HPA's replica count (6, not 4).
        await stack.set({ stableImage: "registry.example.test/shop:2.0.0", stableVersion: "v2" });
        const owners = replicaOwners();
        assert.ok(
            owners.length > 0 && !owners.some(byPulumi),
            `the HPA set the stable's replicas: ${owners.join(", ")}`,
        );
        const promote = await stack.up();
        assert.strictEqual(operations(promote.events)["shop-stable"], "update");
        // Pulumi's apply of the new pod template left spec.replicas out: its field manager does not own it.
        assert.deepStrictEqual(replicaOwners(), owners, "the update did not write replicas");
        assert.ok(replicas("stable") >= 6, `the promotion reset the stable's replicas: ${await sample()}`);
        await stack.set({ canaryWeight: "0" });
        load.canaryWeight = 0;
        await stack.up();
        await stack.set({ canaryImage: undefined, canaryVersion: undefined });
        await stack.up();
        assert.deepStrictEqual((await kubectl(["get", "hpa", "-n", NS, "-o", "name"])).split("\n"), [
            "horizontalpodautoscaler.autoscaling/shop-stable",
        ]);
        await until("the canary's pods gone", () => live("deployment", NS, "shop-canary") === undefined, 30);
        const canaryPods = await podsOf("canary");
        assert.deepStrictEqual(canaryPods, []);
        const stable = live("deployment", NS, "shop-stable")!;
        assert.strictEqual(stable.spec.template.metadata.labels.version, "v2");
        assert.ok(replicas("stable") >= REPLICAS);
        await sample();
        printTimeline("scenario 3");
    });
});

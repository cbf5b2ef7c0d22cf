/**
 * Release bots on several runners: fresh clones of the project (each a runner's checkout) share one stack on the
 * run's S3 backend (SeaweedFS, scripts/backend) and one cluster, where the release lease (a Kubernetes Lease) keeps
 * them apart. Each releases with the README's CI recipe (`--config-from deployed`), judged by a real Prometheus on
 * real traffic (a proxyless gRPC client routed by istiod, as in 02-release.test.ts). A runner "on another host"
 * runs in a UTS namespace of its own with its own hostname.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import {
    assertStableServes,
    backendDir,
    E2EStack,
    live,
    liveWeights,
    runCli,
    s3BackendEnv,
    spawnBot,
    tearDownMesh,
} from "./harness";
import { S3Client } from "../../scripts/backend/s3";
import { ReleaseMeshParts, startReleaseMesh } from "./release-mesh";

const NS = "shop-runners";

describe("e2e: release bots on several runners, one shared backend and one cluster", function () {
    this.timeout(20 * 60 * 1000);
    let stack: E2EStack;
    let reportDir: string;
    /** Requests per second the client sends through the whole release. */
    const RPS = 60;
    const parts: ReleaseMeshParts = {};
    before(async () => {
        ({ stack, reportDir } = await startReleaseMesh(parts, {
            namespace: NS,
            label: "runners",
            stackName: "e2e-runners",
            rps: RPS,
            env: s3BackendEnv(),
        }));
    });

    after(() => tearDownMesh({ first: () => parts.client?.stopLoad() ?? Promise.resolve(), ...parts }));

    /** The project as committed now (its stack file as it is), in a git repository; `clone` makes a fresh clone. */
    function committedProject(): { origin: string; clone: (name: string) => string } {
        const origin = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-origin-"));
        for (const f of ["Pulumi.yaml", `Pulumi.${stack.name}.yaml`]) {
            fs.copyFileSync(path.join(stack.workDir, f), path.join(origin, f));
        }
        const git = (cwd: string, ...args: string[]) =>
            execFileSync("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.test", ...args], { cwd });
        git(origin, "init", "-q");
        git(origin, "add", ".");
        git(origin, "commit", "-qm", "stacks");
        const clone = (name: string) => {
            const dir = path.join(origin, "..", `${path.basename(origin)}-${name}`);
            git(origin, "clone", "-q", origin, dir);
            return dir;
        };
        return { origin, clone };
    }

    /**
     * The README's CI recipe from the checkout in `dir`: `--config-from deployed`, one step (the recipe's point is
     * the shared backend, not the steps: one step each keeps the tests short).
     */
    const ciRelease = (dir: string, image: string, onOutput?: Parameters<typeof runCli>[2]) =>
        runCli(
            "stacks/cli/release.ts",
            [
                ...["--stack", stack.name, "--work-dir", dir, "--image", image, "--config-from", "deployed"],
                ...["--steps", "100", "--quiet", "--report-dir", reportDir],
            ],
            onOutput,
            stack.env,
        );

    it("the README's CI recipe works across two fresh clones sharing the backend", async () => {
        // The project as committed: the stack file as it is now, in a git repository.
        const { origin, clone } = committedProject();
        const committed = (await stack.stack.getAllConfig())["istio-canary:stableImage"].value;
        const first = clone("run1");
        const r1 = await ciRelease(first, "registry.example.test/shop:6.0.0");
        assert.strictEqual(r1.code, 0, r1.stdout + r1.stderr);
        // The second run has a fresh checkout: its stack file still says what was committed; the backend says 6.0.0.
        const second = clone("run2");
        const refused = await runCli(
            "stacks/cli/release.ts",
            ["--stack", stack.name, "--work-dir", second, "--image", "registry.example.test/shop:7.0.0"],
            undefined,
            stack.env,
        );
        assert.strictEqual(refused.code, 2);
        assert.ok(
            refused.stderr.includes(`stableImage is "${committed}" here, "registry.example.test/shop:6.0.0" deployed`),
            refused.stderr,
        );
        const r2 = await ciRelease(second, "registry.example.test/shop:7.0.0");
        assert.strictEqual(r2.code, 0, r2.stdout + r2.stderr);
        assertStableServes(NS, "registry.example.test/shop:7.0.0", "7.0.0");
        const outputs = await stack.stack.outputs();
        assert.strictEqual(
            outputs.release.value.previousImage,
            "registry.example.test/shop:6.0.0",
            "not the checkout's",
        );
        for (const d of [origin, first, second]) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });
    /**
     * Rounds of the race below: 1 in the suite; `scripts/two-runners.sh` runs it 10 times in a row
     * (E2E_TWO_RUNNERS_ROUNDS), each round with its own clones and images.
     */
    const ROUNDS = Number(process.env.E2E_TWO_RUNNERS_ROUNDS ?? "1");
    if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
        throw new Error(
            `E2E_TWO_RUNNERS_ROUNDS must be a whole number of at least 1; got ${JSON.stringify(process.env.E2E_TWO_RUNNERS_ROUNDS)}`,
        );
    }
    for (let round = 1; round <= ROUNDS; round++) {
        const of = ROUNDS === 1 ? "" : ` (round ${round} of ${ROUNDS})`;
        it(`two runners started together from two fresh clones: one releases, the other is refused naming the holder${of}`, async () => {
            const { origin, clone } = committedProject();
            const dirs = [clone("lease-a"), clone("lease-b")];
            const images = [`registry.example.test/shop:8.${round}.0`, `registry.example.test/shop:9.${round}.0`];
            const leaseName = `istio-canary-release-${stack.name}`;
            let seen: { spec: { holderIdentity: string; leaseDurationSeconds: number } } | undefined;
            const t0 = Date.now();
            const runs = await Promise.all(
                dirs.map((dir, i) =>
                    ciRelease(dir, images[i], () => (seen ??= live("leases.coordination.k8s.io", NS, leaseName))),
                ),
            );
            console.log(`      two runners: both done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            const codes = runs.map((r) => r.code).sort();
            assert.deepStrictEqual(codes, [0, 2], runs.map((r) => r.stdout + r.stderr).join("\n---\n"));
            const winner = runs.findIndex((r) => r.code === 0);
            const loser = runs[1 - winner];
            const holder =
                /another release bot holds the release lease of stack \S+: (\S+) \(Lease shop-runners\//.exec(
                    loser.stderr,
                );
            assert.ok(holder, loser.stderr);
            assert.strictEqual(loser.stdout, "", "the refused runner started nothing");
            assert.strictEqual(
                seen?.spec.holderIdentity,
                holder[1],
                "the Lease in the cluster named the runner that released",
            );
            assert.strictEqual(seen?.spec.leaseDurationSeconds, 60);
            assert.strictEqual(live("leases.coordination.k8s.io", NS, leaseName), undefined, "let go at exit");
            const v = images[winner].split(":")[1];
            assertStableServes(NS, images[winner], v);
            // Both runners and this test share the stack on the S3 backend (SeaweedFS), not the run's file:// one: its
            // checkpoint, read through the S3 API, records the winner's image, its history objects are every update
            // `pulumi stack history` lists, and the file backend holds no such stack.
            const s3 = S3Client.fromUrl(stack.env.PULUMI_BACKEND_URL!, stack.env);
            const keys = await s3.listKeys(".pulumi/");
            const checkpoints = keys.filter(
                (k) => k.startsWith(".pulumi/stacks/") && k.endsWith(`/${stack.name}.json`),
            );
            assert.strictEqual(
                checkpoints.length,
                1,
                `one checkpoint of ${stack.name} in the bucket: ${keys.join(", ")}`,
            );
            const checkpoint = await s3.getObject(checkpoints[0]);
            assert.ok(checkpoint.includes(images[winner]), "the checkpoint in the bucket records the winner's image");
            assert.ok(!checkpoint.includes(images[1 - winner]), "and not the refused runner's");
            const history = JSON.parse(
                stack.pulumi(["stack", "history", "--json", "--page-size", "100000"]),
            ) as unknown[];
            const historyObjects = keys.filter(
                (k) => k.includes(`/history/`) && k.includes(`/${stack.name}/`) && k.endsWith(".history.json"),
            );
            assert.strictEqual(historyObjects.length, history.length, "every update of the stack is in the bucket");
            const fileBackend = fs.readdirSync(backendDir, { recursive: true, encoding: "utf8" });
            assert.deepStrictEqual(
                fileBackend.filter((f) => f.includes(stack.name)),
                [],
                "nothing of the stack on the file:// backend",
            );
            for (const d of [origin, ...dirs]) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        });
    }

    it("a second runner started in each window of the first's release is refused up front naming the holder, and changes nothing", async () => {
        // Runner A releases with the README's CI recipe, with a manual gate before 100 that it waits at; runner B,
        // from another fresh clone, starts the same recipe for another image at each window of A's release.
        const { origin, clone } = committedProject();
        const [dirA, dirB] = [clone("window-a"), clone("window-b")];
        const [imageA, imageB] = ["registry.example.test/shop:10.0.0", "registry.example.test/shop:11.0.0"];
        const recipe = (dir: string, image: string) => [
            ...["--stack", stack.name, "--work-dir", dir, "--image", image, "--config-from", "deployed"],
            ...["--report-dir", reportDir],
        ];
        const leaseName = `istio-canary-release-${stack.name}`;
        const t0 = Date.now();
        const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
        const timeline: string[] = [];
        // What B may never cause, polled for the whole test: its image on the canary Deployment.
        const images = new Set<string>();
        let watching = true;
        const watch = (async () => {
            while (watching) {
                const d = live("deployment", NS, "shop-canary");
                const image = d?.spec.template.spec.containers[0].image as string | undefined;
                if (image !== undefined && !images.has(image)) {
                    images.add(image);
                    timeline.push(`${since()}  canary Deployment runs ${image}`);
                }
                await new Promise((r) => setTimeout(r, 500));
            }
        })();
        const refusals: { window: string; code: number; stdout: string; stderr: string }[] = [];
        const fired = new Map<string, Promise<void>>();
        const second = (window: string) => {
            if (fired.has(window)) {
                return;
            }
            timeline.push(`${since()}  B started: ${window}`);
            fired.set(
                window,
                runCli(
                    "stacks/cli/release.ts",
                    [...recipe(dirB, imageB), "--steps", "100", "--quiet"],
                    undefined,
                    stack.env,
                ).then((r) => {
                    timeline.push(`${since()}  B exited ${r.code}: ${window}`);
                    refusals.push({ window, ...r });
                }),
            );
        };
        let approval: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
        // The first window: A holds the Lease and runs its preflight (then its first update).
        let holding = false;
        const leaseSeen = (async () => {
            while (!holding && Date.now() - t0 < 120_000) {
                if (live("leases.coordination.k8s.io", NS, leaseName) !== undefined) {
                    holding = true;
                    second("preflight: A holds the Lease, before its first update");
                }
                await new Promise((r) => setTimeout(r, 250));
            }
        })();
        const a = await runCli(
            "stacks/cli/release.ts",
            [...recipe(dirA, imageA), "--steps", "50,100", "--gates", "100", "--wait-for-approval", "3m"],
            (out) => {
                if (/deployed at weight 0/.test(out)) {
                    second("settle: A's canary deployed at weight 0");
                }
                if (/ weight {2}50 {2}/.test(out)) {
                    second("analysis: A at weight 50, waiting out its interval");
                }
                if (/awaiting approval before step 100/.test(out) && !fired.has("gate")) {
                    second("gate");
                    // Once B was refused at the gate, a person approves A's release from B's clone.
                    approval = fired
                        .get("gate")!
                        .then(() => {
                            timeline.push(`${since()}  approval of A's gate started from B's clone`);
                            return runCli(
                                "stacks/cli/release.ts",
                                [
                                    ...["--stack", stack.name, "--work-dir", dirB, "--approve", "--gate", "100"],
                                    ...[
                                        "--version",
                                        "10.0.0",
                                        "--image",
                                        imageA,
                                        "--by",
                                        "ci-b",
                                        "--config-from",
                                        "deployed",
                                    ],
                                    "--quiet",
                                ],
                                undefined,
                                stack.env,
                            );
                        })
                        .then((r) => {
                            timeline.push(`${since()}  approval exited ${r.code}: ${(r.stdout + r.stderr).trim()}`);
                            return r;
                        });
                }
            },
            stack.env,
        );
        holding = true;
        await leaseSeen;
        await Promise.all(fired.values());
        const approved = await approval;
        watching = false;
        await watch;
        console.log(`      runner A and runner B in each window:\n${timeline.map((l) => `        ${l}`).join("\n")}`);
        assert.strictEqual(approved?.code, 0, `${approved?.stdout}${approved?.stderr}`);
        assert.strictEqual(a.code, 0, a.stdout + a.stderr);
        assert.deepStrictEqual(
            refusals.map((r) => r.window).sort(),
            [
                "analysis: A at weight 50, waiting out its interval",
                "gate",
                "preflight: A holds the Lease, before its first update",
                "settle: A's canary deployed at weight 0",
            ],
            "B ran in every window",
        );
        const holders = new Set<string>();
        for (const r of refusals) {
            assert.strictEqual(r.code, 2, `${r.window}: ${r.stdout}${r.stderr}`);
            assert.strictEqual(r.stdout, "", `${r.window}: the refused runner started nothing`);
            const holder =
                /another release bot holds the release lease of stack \S+: (\S+) \(Lease shop-runners\//.exec(r.stderr);
            assert.ok(holder, `${r.window}: ${r.stderr}`);
            holders.add(holder[1]);
        }
        assert.strictEqual(holders.size, 1, `one holder named in every window: ${[...holders].join(", ")}`);
        assert.ok(!images.has(imageB), `B's image never reached a Deployment: ${[...images].join(", ")}`);
        const history = JSON.parse(stack.pulumi(["stack", "history", "--json"])) as { message?: string }[];
        assert.ok(
            !history.some((h) => (h.message ?? "").includes("11.0.0")),
            "no update of B's in the stack's history",
        );
        assertStableServes(NS, imageA, "10.0.0");
        for (const d of [origin, dirA, dirB]) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("a killed runner's Lease is taken over only once it expired, by a runner on another host whose --resume finishes the release", async () => {
        const { origin, clone } = committedProject();
        const [dirA, dirB] = [clone("killed-a"), clone("resume-b")];
        const imageA = "registry.example.test/shop:12.0.0";
        const leaseName = `istio-canary-release-${stack.name}`;
        // Runner A, killed (SIGKILL, with any pulumi child) right after its shift to 50.
        await spawnBot(
            ["--stack", stack.name, "--work-dir", dirA, "--report-dir", reportDir, "--quiet"],
            ["--image", imageA, "--config-from", "deployed", "--steps", "50,100"],
            (out) => /shifted: stable 50 \/ canary 50/.test(out),
            stack.env,
        );
        const killedAt = Date.now();
        const held = live("leases.coordination.k8s.io", NS, leaseName);
        assert.ok(held, "the killed runner's Lease is left in the cluster");
        const holderA = held.spec.holderIdentity as string;
        const expires = Date.parse(held.spec.renewTime) + (held.spec.leaseDurationSeconds as number) * 1000;
        // Runner B on another host (its own UTS namespace and hostname): it cannot tell whether A's process lives,
        // so only the Lease's expiry frees the release.
        const resume = () =>
            runCli(
                "stacks/cli/release.ts",
                [
                    ...["--stack", stack.name, "--work-dir", dirB, "--resume", "--config-from", "deployed"],
                    ...["--report-dir", reportDir, "--quiet"],
                ],
                undefined,
                stack.env,
                { hostname: "runner-b" },
            );
        const early = await resume();
        const earlyEnded = Date.now();
        assert.ok(earlyEnded < expires, `B ran before the Lease expired (${(expires - earlyEnded) / 1000} s left)`);
        assert.strictEqual(early.code, 2, early.stdout + early.stderr);
        assert.ok(early.stderr.includes(holderA), `B names the holder ${holderA}: ${early.stderr}`);
        assert.strictEqual(
            live("leases.coordination.k8s.io", NS, leaseName)?.spec.holderIdentity,
            holderA,
            "the Lease is still A's",
        );
        assert.deepStrictEqual(
            liveWeights(NS, "shop"),
            [
                ["stable", 50],
                ["canary", 50],
            ],
            "traffic stays where A left it",
        );
        await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 1000));
        const late = await resume();
        console.log(
            `      killed runner: B refused ${((earlyEnded - killedAt) / 1000).toFixed(1)} s after the kill, ` +
                `${((expires - earlyEnded) / 1000).toFixed(1)} s before the Lease expired; after it, B's --resume exited ${late.code} ` +
                `${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
        );
        assert.strictEqual(late.code, 0, late.stdout + late.stderr);
        assert.strictEqual(live("leases.coordination.k8s.io", NS, leaseName), undefined, "B let go at exit");
        assertStableServes(NS, imageA, "12.0.0");
        for (const d of [origin, dirA, dirB]) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });
});

/**
 * The program for real: `pulumi up` on the local API server with Istio's real charts and CRDs.
 * One stack goes through the life of a release; each test builds on the one before. This is the suite that
 * installs Istio itself (a fresh install on a cluster without Istio, a Helm upgrade of it, its removal): it runs
 * on its own, before the shared installation the other suites use (tests/e2e/plan.json, shared-mesh.ts).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    backendDir,
    baseConfig,
    E2EStack,
    e2eTls,
    E2E_HOST,
    kubectl,
    live,
    liveWeights,
    meshClientPrincipal,
    namesIn,
    operations,
    Update,
    assertStableServes,
} from "./harness";
import { istioctlAnalyze } from "../../scripts/mesh/istio-checks";
import { meshValues } from "./shared-mesh";

const NS = "shop-e2e";
const VS = "virtualservices.networking.istio.io";
const PA = "peerauthentications.security.istio.io";
const AP = "authorizationpolicies.security.istio.io";
const GATEWAY_PRINCIPAL = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway";

/** The live pods of a namespace, optionally by label selector. */
function pods(namespace: string, selector?: string): Record<string, any>[] {
    const args = ["get", "pods", "-n", namespace, ...(selector ? ["-l", selector] : []), "-o", "json"];
    return JSON.parse(kubectl(args)).items;
}

/** Waits until the disruption controller has observed a PodDisruptionBudget; returns it. */
async function observedBudget(name: string): Promise<Record<string, any>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        const pdb = live("poddisruptionbudgets.policy", NS, name)!;
        if (pdb.status?.observedGeneration === pdb.metadata.generation && pdb.status?.expectedPods !== undefined) {
            return pdb;
        }
        if (Date.now() > deadline) {
            assert.fail(`the disruption controller never observed ${name}: ${JSON.stringify(pdb.status)}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** Generation and ReplicaSets of both Deployments: they change only when a Deployment rolls. */
function rollouts(): string {
    const gens = ["shop-stable", "shop-canary"].map((d) => `${d}@${live("deployment", NS, d)!.metadata.generation}`);
    return [...gens, ...namesIn(NS, "replicasets")].join(" ");
}

describe("e2e: the program on a live API server", function () {
    this.timeout(15 * 60 * 1000);
    let stack: E2EStack;
    let first: Update;

    before(async () => {
        stack = await E2EStack.create(
            "e2e-program",
            baseConfig(NS, { canaryHeader: "x-canary", hosts: E2E_HOST, istioInstall: "true" }),
        );
    });

    after(async () => {
        await stack?.destroyAndRemove();
    });

    it("1. a fresh up on an empty cluster installs Istio and creates every resource", async () => {
        first = await stack.up();
        const changes = first.changes;
        // 2 components + mesh (2 namespaces, 4 Helm releases: base, Istio CNI, istiod, gateway) + app (namespace, secret, service account,
        // 2 deployments, 2 disruption budgets, service, destination rule, gateway, virtual service, peer
        // authentication, authorization policy) + the stack itself.
        assert.strictEqual(changes.create, 22, JSON.stringify(changes));
        const vs = live(VS, NS, "shop")!;
        assert.deepStrictEqual(vs.spec.gateways, [`${NS}/shop`, "mesh"]);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        const dr = live("destinationrules.networking.istio.io", NS, "shop")!;
        assert.deepStrictEqual(dr.spec.subsets, [
            { name: "stable", labels: { app: "shop", track: "stable" } },
            { name: "canary", labels: { app: "shop", track: "canary" } },
        ]);
        assert.strictEqual(dr.spec.trafficPolicy.tls.mode, "ISTIO_MUTUAL");
        const gw = live("gateways.networking.istio.io", NS, "shop")!;
        assert.deepStrictEqual(gw.spec.selector, { app: "istio-ingressgateway", istio: "ingressgateway" });
        assert.strictEqual(gw.spec.servers[0].tls.credentialName, `${NS}-shop-tls`);
        // The selector matches the pods the gateway chart really made.
        const gwPods = JSON.parse(
            execFileSync(
                process.env.KUBECTL!,
                [
                    "get",
                    "pods",
                    "-n",
                    "istio-ingress",
                    "-l",
                    "app=istio-ingressgateway,istio=ingressgateway",
                    "-o",
                    "json",
                ],
                {
                    encoding: "utf8",
                },
            ),
        ).items;
        assert.ok(gwPods.length >= 1, "gateway pods carry the labels the Gateway selects");
        const secret = live("secret", "istio-ingress", `${NS}-shop-tls`)!;
        assert.strictEqual(secret.type, "kubernetes.io/tls");
        assert.strictEqual(Buffer.from(secret.data["tls.crt"], "base64").toString(), e2eTls().cert);
        // Deployments ready, pods labelled with their version; the namespace enforces "restricted".
        for (const d of ["shop-stable", "shop-canary"]) {
            const dep = live("deployment", NS, d)!;
            assert.strictEqual(dep.status.readyReplicas, dep.spec.replicas, `${d} ready`);
        }
        assert.strictEqual(
            live("namespace", "", NS)!.metadata.labels["pod-security.kubernetes.io/enforce"],
            "restricted",
        );
        const outputs = await stack.stack.outputs();
        assert.deepStrictEqual(outputs.weights.value, { stable: 100, canary: 0 });
    });

    it("1b. Pod Security restricted everywhere: the app's and Istio's namespaces, and their pods were admitted", () => {
        // The API server's PodSecurity admission refuses a pod that does not meet its namespace's level: the pods
        // below exist, so the app's pods, istiod's (the chart's Deployment) and the gateway's met "restricted".
        for (const ns of [NS, "istio-system", "istio-ingress"]) {
            const labels = live("namespace", "", ns)!.metadata.labels;
            for (const mode of ["enforce", "warn", "audit"]) {
                assert.strictEqual(labels[`pod-security.kubernetes.io/${mode}`], "restricted", `${ns} ${mode}`);
            }
        }
        for (const [ns, deployment] of [
            ["istio-system", "istiod"],
            ["istio-ingress", "istio-ingressgateway"],
        ]) {
            const d = live("deployment", ns, deployment)!;
            assert.ok(d.status.readyReplicas >= 1, `${ns}/${deployment} has admitted, ready pods`);
        }
        const [istiod] = pods("istio-system", "app=istiod");
        assert.deepStrictEqual(istiod.spec.containers[0].securityContext.seccompProfile, { type: "RuntimeDefault" });
        const [gateway] = pods("istio-ingress", "app=istio-ingressgateway");
        assert.deepStrictEqual(gateway.spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
        assert.deepStrictEqual(gateway.spec.securityContext.sysctls, [
            { name: "net.ipv4.ip_unprivileged_port_start", value: "0" },
        ]);
    });

    it("1b2. sidecars injected at admission and admitted under restricted: istio-proxy with istio-validation (Istio CNI), no istio-init; the gateway's proxy from its template", async () => {
        const t0 = Date.now();
        // Istio CNI runs (the cni chart's DaemonSet in kube-system, its pods kwok's) and the injector was told so.
        const cni = live("daemonset", "kube-system", "istio-cni-node")!;
        assert.ok(cni.status.numberReady >= 1, JSON.stringify(cni.status));
        const injector = live("configmap", "istio-system", "istio-sidecar-injector")!;
        assert.strictEqual(JSON.parse(injector.data.values).pilot.cni.enabled, true);
        // Each app pod, read back from the API server: the injector (MutatingAdmissionWebhook -> istiod's /inject on
        // loopback) added the proxy and the CNI's validation init container, then Pod Security admitted it.
        const appPods = pods(NS, "app=shop");
        assert.strictEqual(appPods.length, 3, "2 stable and 1 canary");
        for (const pod of appPods) {
            const name = pod.metadata.name;
            const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers] as Record<string, any>[];
            const names = all.map((c) => c.name as string);
            assert.ok(names.includes("istio-proxy"), `${name}: ${names.join(", ")}`);
            assert.ok(names.includes("istio-validation"), `${name}: ${names.join(", ")}`);
            assert.ok(!names.includes("istio-init"), `${name}: ${names.join(", ")}`);
            assert.ok(pod.metadata.annotations["sidecar.istio.io/status"], `${name}: the injector's record`);
            for (const c of all.filter((x) => x.name.startsWith("istio-"))) {
                assert.strictEqual(c.securityContext.runAsNonRoot, true, `${name}/${c.name}`);
                assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] }, `${name}/${c.name}`);
                assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, `${name}/${c.name}`);
            }
        }
        // No ReplicaSet failed to create a pod (a Pod Security rejection is a FailedCreate event).
        const failed = JSON.parse(
            kubectl(["get", "events", "-n", NS, "--field-selector", "reason=FailedCreate", "-o", "json"]),
        ).items as { message: string }[];
        assert.deepStrictEqual(
            failed.map((e) => e.message),
            [],
        );
        // The gateway chart's `image: auto` was replaced by the gateway template's proxy (IST0147 otherwise).
        for (const gw of pods("istio-ingress", "app=istio-ingressgateway")) {
            const proxy = gw.spec.containers.find((c: { name: string }) => c.name === "istio-proxy");
            assert.notStrictEqual(proxy.image, "auto", gw.metadata.name);
            assert.ok(gw.metadata.annotations["sidecar.istio.io/status"], `${gw.metadata.name}: the injector's record`);
        }
        // Both namespaces say they are injected: istioctl analyze has not even an Info finding (IST0102) on them.
        const { info } = await istioctlAnalyze([NS]);
        assert.deepStrictEqual(
            info.filter((m) => [`Namespace ${NS}`, "Namespace istio-ingress"].includes(m.origin)),
            [],
        );
        console.log(`      injection checks: ${Date.now() - t0} ms`);
    });

    it("1b3. without Istio CNI the same pod is refused: injected as istiod would without it, Pod Security rejects istio-init", () => {
        const t0 = Date.now();
        // The injector's own configuration (the istiod chart's ConfigMap) and mesh config, Istio CNI turned off, and
        // the stable Deployment's pod template: `istioctl kube-inject` renders the pod istiod would admit without CNI.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-no-cni-"));
        try {
            const injector = live("configmap", "istio-system", "istio-sidecar-injector")!;
            const values = JSON.parse(injector.data.values);
            values.pilot.cni.enabled = false;
            fs.writeFileSync(path.join(dir, "config"), injector.data.config);
            fs.writeFileSync(path.join(dir, "values"), JSON.stringify(values));
            fs.writeFileSync(path.join(dir, "mesh"), live("configmap", "istio-system", "istio")!.data.mesh);
            const template = live("deployment", NS, "shop-stable")!.spec.template;
            const pod = {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "shop-no-cni", namespace: NS, labels: template.metadata.labels },
                spec: template.spec,
            };
            fs.writeFileSync(path.join(dir, "pod.json"), JSON.stringify(pod));
            const injected = execFileSync(
                process.env.ISTIOCTL!,
                [
                    "kube-inject",
                    "-f",
                    path.join(dir, "pod.json"),
                    "--injectConfigFile",
                    path.join(dir, "config"),
                ].concat(["--valuesFile", path.join(dir, "values"), "--meshConfigFile", path.join(dir, "mesh")]),
                { encoding: "utf8" },
            );
            assert.match(injected, /name: istio-init/);
            fs.writeFileSync(path.join(dir, "injected.yaml"), injected);
            // The API server's answer to creating it (dry run: nothing is stored) in the app's restricted namespace.
            assert.throws(
                () => kubectl(["create", "--dry-run=server", "-f", path.join(dir, "injected.yaml")]),
                (e: { stderr?: string }) => {
                    assert.match(
                        String(e.stderr),
                        /violates PodSecurity "restricted:latest": unrestricted capabilities \(container "istio-init" must not include "NET_ADMIN", "NET_RAW"/,
                    );
                    return true;
                },
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        console.log(`      no-CNI refusal: ${Date.now() - t0} ms`);
    });

    it("1c. the pods carry their own service account (no API token), /tmp and ephemeral-storage limits", () => {
        const sa = live("serviceaccount", NS, "shop")!;
        assert.strictEqual(sa.automountServiceAccountToken, false);
        const appPods = pods(NS, "app=shop");
        assert.strictEqual(appPods.length, 3, "2 stable and 1 canary");
        for (const pod of appPods) {
            const name = pod.metadata.name;
            assert.strictEqual(pod.spec.serviceAccountName, "shop", name);
            assert.strictEqual(pod.spec.automountServiceAccountToken, false, name);
            // No token for the API server; the injected proxy's istio-token is for istiod's CA only (audience istio-ca).
            const tokens = (pod.spec.volumes ?? []).flatMap(
                (v: { projected?: { sources: { serviceAccountToken?: { audience?: string } }[] } }) =>
                    (v.projected?.sources ?? []).flatMap((src) =>
                        src.serviceAccountToken ? [src.serviceAccountToken.audience ?? "(the API server)"] : [],
                    ),
            );
            assert.deepStrictEqual(tokens, ["istio-ca"], `${name}: no API token volume`);
            assert.deepStrictEqual(
                pod.spec.volumes.find((v: { name: string }) => v.name === "tmp"),
                { name: "tmp", emptyDir: {} },
                name,
            );
            const c = pod.spec.containers[0];
            assert.deepStrictEqual(c.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }], name);
            assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true, name);
            assert.strictEqual(c.resources.requests["ephemeral-storage"], "64Mi", name);
            assert.strictEqual(c.resources.limits["ephemeral-storage"], "512Mi", name);
        }
    });

    it("1d. disruption budgets: a drain may take one stable pod at a time and every canary pod", async () => {
        const stable = await observedBudget("shop-stable");
        assert.strictEqual(stable.spec.maxUnavailable, 1);
        assert.strictEqual(stable.spec.unhealthyPodEvictionPolicy, "AlwaysAllow");
        assert.strictEqual(stable.status.expectedPods, 2);
        assert.strictEqual(stable.status.disruptionsAllowed, 1, JSON.stringify(stable.status));
        const canary = await observedBudget("shop-canary");
        assert.strictEqual(canary.spec.maxUnavailable, "100%");
        assert.strictEqual(canary.status.expectedPods, 1);
        assert.strictEqual(canary.status.disruptionsAllowed, 1, JSON.stringify(canary.status));
    });

    it("1e. STRICT mutual TLS and an AuthorizationPolicy for the gateway's real identity and the listed principals", () => {
        const pa = live(PA, NS, "shop")!;
        assert.deepStrictEqual(pa.spec, { selector: { matchLabels: { app: "shop" } }, mtls: { mode: "STRICT" } });
        const ap = live(AP, NS, "shop")!;
        assert.deepStrictEqual(ap.spec, {
            selector: { matchLabels: { app: "shop" } },
            action: "ALLOW",
            rules: [{ from: [{ source: { principals: [GATEWAY_PRINCIPAL, meshClientPrincipal(NS)] } }] }],
        });
        // The principal names the service account the gateway's pods really run as.
        assert.ok(live("serviceaccount", "istio-ingress", "istio-ingressgateway"), "the gateway chart's account");
        for (const pod of pods("istio-ingress", "app=istio-ingressgateway")) {
            assert.strictEqual(`cluster.local/ns/istio-ingress/sa/${pod.spec.serviceAccountName}`, GATEWAY_PRINCIPAL);
        }
    });

    it("1f. an upgrade: changed istiod values are a Helm upgrade of the running installation, and nothing else", async () => {
        const values = JSON.parse(meshValues().istiodValues) as { env: Record<string, string> };
        values.env = { ...values.env, E2E_UPGRADE: "1" };
        await stack.set({ istiodValues: JSON.stringify(values) });
        const upgrade = await stack.up();
        const ops = operations(upgrade.events);
        assert.deepStrictEqual(
            Object.entries(ops).filter(([, op]) => op !== "same"),
            [["mesh-istiod", "update"]],
        );
        // Helm's own record: a second revision of the istiod release, and the chart rendered with the new value.
        assert.ok(live("secret", "istio-system", "sh.helm.release.v1.istiod.v2"), "Helm recorded revision 2");
        const istiod = live("deployment", "istio-system", "istiod")!;
        const env = istiod.spec.template.spec.containers[0].env as { name: string; value?: string }[];
        assert.deepStrictEqual(
            env.find((e) => e.name === "E2E_UPGRADE"),
            { name: "E2E_UPGRADE", value: "1" },
        );
    });

    it("2. canaryWeight 50: live weights 50/50, exactly one resource updated, none replaced, no rollout", async () => {
        await stack.set({ canaryImage: "registry.example.test/shop:2.0.0", canaryVersion: "v2" });
        await stack.up();
        const before = rollouts();
        await stack.set({ canaryWeight: "50" });
        const shift = await stack.up();
        const changes = shift.changes;
        assert.strictEqual(changes.update, 1, JSON.stringify(changes));
        assert.strictEqual(changes.replace ?? 0, 0);
        assert.strictEqual(changes.create ?? 0, 0);
        const ops = operations(shift.events);
        assert.deepStrictEqual(
            Object.entries(ops).filter(([, op]) => op !== "same"),
            [["shop-vs", "update"]],
        );
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 50],
            ["canary", 50],
        ]);
        assert.strictEqual(rollouts(), before, "no Deployment rolled");
        console.log(`      shift up: ${shift.ms} ms`);
    });

    it("2b. with canary scaling the shift updates exactly two resources", async () => {
        await stack.set({ canaryScaling: "true", replicas: "4" });
        await stack.up();
        await stack.set({ canaryWeight: "75" });
        const shift = await stack.up();
        const changes = shift.changes;
        assert.strictEqual(changes.update, 2, JSON.stringify(changes));
        assert.strictEqual(changes.replace ?? 0, 0);
        assert.strictEqual(live("deployment", NS, "shop-canary")!.spec.replicas, 3);
        await stack.set({ canaryScaling: undefined, replicas: undefined, canaryWeight: "50" });
        await stack.up();
    });

    it("3. header, cookie and mirror options appear in the live VirtualService", async () => {
        await stack.set({ canaryCookie: "version=v2", mirrorPercent: "25" });
        await stack.up();
        const http = live(VS, NS, "shop")!.spec.http;
        assert.deepStrictEqual(
            http.map((h: { name: string }) => h.name),
            ["canary-header", "canary-cookie", "weighted"],
        );
        assert.deepStrictEqual(http[0].match, [{ headers: { "x-canary": { exact: "true" } } }]);
        assert.deepStrictEqual(http[1].match, [{ headers: { cookie: { regex: "^(.*?;\\s*)?(version=v2)(;.*)?$" } } }]);
        assert.deepStrictEqual(http[2].mirrorPercentage, { value: 25 });
        assert.strictEqual(http[2].mirror.subset, "canary");
        await stack.set({ canaryHeader: undefined, canaryCookie: undefined, mirrorPercent: undefined });
        await stack.up();
        assert.deepStrictEqual(
            live(VS, NS, "shop")!.spec.http.map((h: { name: string }) => h.name),
            ["weighted"],
        );
    });

    it("3b. each part turns off with its key: an up deletes its objects, istioctl analyze stays clean; and back on", async () => {
        await stack.set({ podDisruptionBudgets: "false", peerAuthentication: "false", authorizationPolicy: "false" });
        const down = (await stack.up()).changes;
        assert.strictEqual(down.delete, 4, JSON.stringify(down));
        assert.deepStrictEqual(namesIn(NS, `poddisruptionbudgets.policy,${PA},${AP}`), []);
        await stack.set({
            podDisruptionBudgets: undefined,
            peerAuthentication: undefined,
            authorizationPolicy: undefined,
        });
        const back = (await stack.up()).changes;
        assert.strictEqual(back.create, 4, JSON.stringify(back));
        assert.strictEqual(live(PA, NS, "shop")!.spec.mtls.mode, "STRICT");
    });

    it("4. an invalid weight fails the up with the message and leaves the live objects unchanged", async () => {
        const vsBefore = live(VS, NS, "shop")!.metadata.resourceVersion;
        await stack.set({ canaryWeight: "50.5" });
        await assert.rejects(stack.up(), (e: Error) => {
            assert.match(e.message, /canaryWeight must be an integer from 0 to 100; got "50\.5"/);
            return true;
        });
        assert.strictEqual(live(VS, NS, "shop")!.metadata.resourceVersion, vsBefore);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 50],
            ["canary", 50],
        ]);
        await stack.set({ canaryWeight: "50" });
    });

    it("5. completion: stable runs the canary version at weight 0; the route moved after stable was ready", async () => {
        await stack.set({ canaryWeight: "100" });
        await stack.up();
        await stack.set({
            stableImage: "registry.example.test/shop:2.0.0",
            stableVersion: "v2",
            canaryWeight: "0",
            canaryImage: undefined,
            canaryVersion: undefined,
        });
        const done = await stack.up();
        assertStableServes(NS, "registry.example.test/shop:2.0.0", "v2");
        // Engine events: the VirtualService's update starts only after the stable Deployment's update finished
        // (Pulumi's Deployment await: rolled out and ready).
        const idx = (pred: (e: (typeof done.events)[number]) => boolean) => done.events.findIndex(pred);
        const stableDone = idx((e) => e.resOutputsEvent?.metadata.urn.endsWith("::shop-stable") === true);
        const routeStart = idx((e) => e.resourcePreEvent?.metadata.urn.endsWith("::shop-vs") === true);
        assert.ok(
            stableDone >= 0 && routeStart > stableDone,
            `stable ready at event ${stableDone}, route at ${routeStart}`,
        );
        assert.ok(done.events[routeStart].timestamp >= done.events[stableDone].timestamp);
        const ops = operations(done.events);
        assert.strictEqual(ops["shop-stable"], "update");
        assert.strictEqual(ops["shop-vs"], "update");
    });

    it("6. `pulumi stack export` and the state file hold no plaintext TLS key", () => {
        const { key } = e2eTls();
        const pemBody = key
            .split("\n")
            .filter((l) => l !== "" && !l.startsWith("-----"))
            .join("");
        const forms = [
            pemBody.slice(0, 40),
            Buffer.from(key).toString("base64").slice(0, 40),
            JSON.stringify(key).slice(1, 60),
        ];
        const exported = stack.pulumi(["stack", "export"]);
        const stateFiles = fs
            .readdirSync(backendDir, { recursive: true, encoding: "utf8" })
            .filter((f) => /(^|\/)stacks\/.*e2e-program\.json$/.test(f))
            .map((f) => fs.readFileSync(path.join(backendDir, f), "utf8"));
        assert.ok(stateFiles.length > 0, "found the stack's state file");
        for (const text of [exported, ...stateFiles]) {
            for (const form of forms) {
                assert.ok(!text.includes(form), "no plaintext, base64 or JSON-escaped key");
            }
            assert.ok(text.includes("4dabf18193072939515e22adb298388d"), "secrets are stored encrypted");
        }
        assert.ok(exported.includes('"ciphertext"'));
    });

    it("7. destroy leaves nothing in the app namespace", async () => {
        await stack.stack.destroy();
        assert.strictEqual(live("namespace", "", NS), undefined, "the namespace is gone");
        assert.deepStrictEqual(
            namesIn(
                NS,
                "deployments,services,virtualservices.networking.istio.io,destinationrules.networking.istio.io,gateways.networking.istio.io," +
                    `serviceaccounts,poddisruptionbudgets.policy,${PA},${AP}`,
            ),
            [],
        );
        assert.strictEqual(live("secret", "istio-ingress", `${NS}-shop-tls`), undefined);
    });
});

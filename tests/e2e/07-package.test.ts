/**
 * The component package from another language: a Pulumi YAML program (its language host built from the
 * pulumi-yaml Go module) names this repository in its `packages`, declares the run's Istio with IstioMesh
 * (`install: false`: the suites share one installation, tests/e2e/shared-mesh.ts; 01-program.test.ts proves the
 * component's Helm install) and deploys a CanaryRelease on the local cluster, the mesh's Outputs flowing into the
 * release's Inputs; then shifts its weight with `pulumi config set` + `pulumi up`, as a TypeScript stack would.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { E2E_HOST, e2eTls, live, liveWeights, REPO } from "./harness";

const NS = "shop-yaml";

/** The YAML program: the run's Istio, then the release; canaryWeight and the TLS pair come from stack config. */
const PROGRAM = {
    name: "canary-yaml",
    runtime: "yaml",
    config: {
        canaryWeight: { type: "integer", default: 0 },
        canaryImage: { type: "string", default: "registry.example.test/shop:2.0.0" },
        tlsCert: { type: "string" },
        tlsKey: { type: "string", secret: true },
    },
    resources: {
        mesh: {
            type: "istio-canary:IstioMesh",
            properties: { install: false, gatewayValues: { autoscaling: { enabled: false } } },
        },
        shop: {
            type: "istio-canary:CanaryRelease",
            properties: {
                app: "shop",
                namespace: NS,
                podSecurityEnforce: "restricted",
                rolloutTimeoutSeconds: 120,
                stable: { image: "registry.example.test/shop:1.0.0", version: "v1" },
                canary: { image: "${canaryImage}", version: "v2" },
                canaryWeight: "${canaryWeight}",
                hosts: [E2E_HOST],
                tls: { cert: "${tlsCert}", key: "${tlsKey}" },
                gateway: {
                    namespace: "${mesh.gatewayNamespace}",
                    selector: "${mesh.gatewaySelector}",
                    serviceAccount: "${mesh.gatewayServiceAccount}",
                },
            },
            options: { dependsOn: ["${mesh}"] },
        },
    },
    outputs: { weights: "${shop.weights}", url: "${shop.url}", canaryReplicas: "${shop.canaryReplicas}" },
};

describe("e2e: the component package from a Pulumi YAML program", function () {
    this.timeout(20 * 60 * 1000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-yaml-"));
    let created = false;

    /** The Pulumi CLI in the YAML project; its exit code and everything it printed. */
    function pulumi(args: string[], input?: string): { code: number; out: string; stdout: string } {
        const r = spawnSync("pulumi", [...args, "--non-interactive"], {
            cwd: dir,
            input,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
    }
    /** Runs the CLI, which must succeed; returns its stdout. */
    function ok(args: string[], input?: string): string {
        const r = pulumi(args, input);
        assert.strictEqual(r.code, 0, `pulumi ${args.join(" ")}:\n${r.out}`);
        return r.stdout;
    }

    before(() => {
        // What `pulumi package add <dir>` records for a directory. The command itself stops after that at
        // "linking package: method Link not implemented": pulumi-yaml 1.25.0 (the newest on the Go module
        // proxy) has no Link, so the test writes the entry.
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump({ ...PROGRAM, packages: { "istio-canary": REPO } }));
    });

    after(() => {
        try {
            if (created) {
                ok(["destroy", "--yes", "--stack", "dev"]);
                ok(["stack", "rm", "dev", "--yes", "--force"]);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("serves the schema the plugin infers from the sources (pulumi package get-schema <dir>)", () => {
        const schema = JSON.parse(ok(["package", "get-schema", REPO]).replace(/^[^{]*/, "")) as {
            resources: Record<string, { inputProperties: Record<string, { description?: string }> }>;
        };
        assert.strictEqual(
            schema.resources["istio-canary:index:CanaryRelease"].inputProperties.canaryWeight.description,
            "Percentage (integer 0..100) of the default route sent to the canary. Defaults to 0.",
        );
    });

    it("deploys a CanaryRelease from YAML, an IstioMesh's Outputs in the release's Inputs", () => {
        ok(["stack", "init", "dev"]);
        created = true;
        // Multi-line values through stdin, as the CLI's help suggests (and the key stays out of argv).
        ok(["config", "set", "tlsCert", "--stack", "dev"], e2eTls().cert);
        ok(["config", "set", "--secret", "tlsKey", "--stack", "dev"], e2eTls().key);
        ok(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        const canary = live("deployment", NS, "shop-canary")!;
        assert.strictEqual(canary.spec.template.spec.containers[0].image, "registry.example.test/shop:2.0.0");
        const gateway = live("gateways.networking.istio.io", NS, "shop")!;
        assert.deepStrictEqual(gateway.spec.selector, { app: "istio-ingressgateway", istio: "ingressgateway" });
        const secret = live("secret", "istio-ingress", `${NS}-shop-tls`)!;
        assert.strictEqual(secret.type, "kubernetes.io/tls");
        const state = ok(["stack", "export", "--stack", "dev"]);
        assert.ok(!state.includes(e2eTls().key.split("\n")[1]), "the TLS key is a secret in the state");
    });

    it("shifts the weight with pulumi config set + pulumi up, changing only the routes", () => {
        ok(["config", "set", "canaryWeight", "30", "--stack", "dev"]);
        const preview = ok(["preview", "--diff", "--stack", "dev"]);
        assert.match(preview, /~ .*VirtualService/);
        ok(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 70],
            ["canary", 30],
        ]);
        const outputs = JSON.parse(ok(["stack", "output", "--json", "--stack", "dev"])) as Record<string, unknown>;
        assert.deepStrictEqual(outputs.weights, { stable: 70, canary: 30 });
        assert.strictEqual(outputs.url, "https://shop.e2e.example.test/");
    });

    it("reports bad values with the component's messages: known ones at once, Outputs once resolved", () => {
        ok(["config", "set", "canaryWeight", "150", "--stack", "dev"]);
        const known = pulumi(["preview", "--stack", "dev"]);
        assert.notStrictEqual(known.code, 0, known.out);
        assert.match(known.out, /canaryWeight must be an integer from 0 to 100; got 150/);
        ok(["config", "set", "canaryWeight", "30", "--stack", "dev"]);
        // A secret reaches the component as an Output: the same rule runs in apply, and does not show the value.
        ok(["config", "set", "--secret", "canaryImage", "--stack", "dev"], "Not An Image");
        const secret = pulumi(["preview", "--stack", "dev"]);
        assert.notStrictEqual(secret.code, 0, secret.out);
        assert.match(
            secret.out,
            /canary\.image must be a container image reference such as "ghcr\.io\/org\/app:1\.2\.3" or, pinned by digest, "ghcr\.io\/org\/app@sha256:<64 hex digits>"; got a secret value \(not shown\)/,
        );
        assert.ok(!secret.out.includes("Not An Image"), secret.out);
        ok(["config", "rm", "canaryImage", "--stack", "dev"]);
    });
});

/**
 * The component package from a Go program: the README's Go walk-through ("Use it from other languages"), run as it
 * is written. `pulumi package add` generates the Go SDK (Pulumi's Go code generator, in this project's Go language
 * host) and links it; the program (examples/go/main.go) passes an IstioMesh's Outputs into a CanaryRelease's
 * Inputs, deploys it on the local cluster and shifts its weight with `pulumi config set` + `pulumi up`.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { E2E_HOST, e2eTls, live, liveWeights, REPO } from "./harness";

const NS = "shop-go";
const README = fs.readFileSync(path.join(REPO, "README.md"), "utf8");

/** The shell block after `<!-- go-walkthrough:<part> -->` in the README. */
function walkthrough(part: string): string {
    const marker = `<!-- go-walkthrough:${part} -->\n\`\`\`sh\n`;
    const start = README.indexOf(marker);
    assert.ok(start >= 0, `the README has no ${marker.trim()}`);
    const body = README.slice(start + marker.length);
    return body.slice(0, body.indexOf("```"));
}

describe("e2e: the component package from a Go program (the README's walk-through)", function () {
    this.timeout(20 * 60 * 1000);
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-go-"));
    const dir = path.join(parent, "shop-go");
    const tls = { crt: path.join(parent, "tls.crt"), key: path.join(parent, "tls.key") };
    let created = false;

    /** Runs a README block with bash (-e: the first failing command fails it), its placeholders filled in. */
    function run(block: string, cwd: string): string {
        const script = block
            .replaceAll("/path/to/istio-canary", REPO)
            .replaceAll("shop.example.com", E2E_HOST)
            .replaceAll("< tls.crt", `< ${tls.crt}`)
            .replaceAll("< tls.key", `< ${tls.key}`);
        const r = spawnSync("bash", ["-euo", "pipefail", "-c", `set -x\n${script}`], {
            cwd,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        const out = `${r.stdout}${r.stderr}`;
        assert.strictEqual(r.status, 0, `the walk-through failed:\n${out}`);
        return r.stdout;
    }
    function pulumi(args: string[]): string {
        const r = spawnSync("pulumi", [...args, "--non-interactive", "--stack", "dev"], { cwd: dir, encoding: "utf8" });
        assert.strictEqual(r.status, 0, `pulumi ${args.join(" ")}:\n${r.stdout}${r.stderr}`);
        return r.stdout;
    }

    before(() => {
        fs.writeFileSync(tls.crt, e2eTls().cert);
        fs.writeFileSync(tls.key, e2eTls().key);
    });

    after(() => {
        try {
            if (created) {
                pulumi(["destroy", "--yes"]);
                pulumi(["stack", "rm", "--yes", "--force"]);
            }
        } finally {
            fs.rmSync(parent, { recursive: true, force: true });
        }
    });

    it("generates the Go SDK, links it and deploys a CanaryRelease, an IstioMesh's Outputs in its Inputs", () => {
        created = true;
        run(walkthrough("deploy"), parent);

        // The SDK came from the schema, with a go.mod of its own, and the program's go.mod points at it.
        const sdk = path.join(dir, "sdks", "istio-canary");
        assert.match(
            fs.readFileSync(path.join(sdk, "go.mod"), "utf8"),
            /^module example\.com\/pulumi-istio-canary\/sdk\/go$/m,
        );
        assert.match(
            fs.readFileSync(path.join(sdk, "istiocanary", "canaryRelease.go"), "utf8"),
            /func NewCanaryRelease\(ctx \*pulumi\.Context/,
        );
        assert.match(
            fs.readFileSync(path.join(dir, "go.mod"), "utf8"),
            /^replace example\.com\/pulumi-istio-canary\/sdk\/go => \.\/sdks\/istio-canary$/m,
        );

        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 100],
            ["canary", 0],
        ]);
        const canary = live("deployment", NS, "shop-canary")!;
        assert.strictEqual(canary.spec.template.spec.containers[0].image, "registry.example.test/shop:2.0.0");
        assert.strictEqual(canary.spec.template.metadata.labels.version, "v2");
        // The gateway's selector came from the IstioMesh's Output, not from a plain value in the program.
        const gateway = live("gateways.networking.istio.io", NS, "shop")!;
        assert.deepStrictEqual(gateway.spec.selector, { app: "istio-ingressgateway", istio: "ingressgateway" });
        assert.strictEqual(live("secret", "istio-ingress", `${NS}-shop-tls`)?.type, "kubernetes.io/tls");
        const outputs = JSON.parse(pulumi(["stack", "output", "--json"])) as Record<string, unknown>;
        assert.deepStrictEqual(outputs.weights, { stable: 100, canary: 0 });
        assert.strictEqual(outputs.gatewayNamespace, "istio-ingress");
        const state = pulumi(["stack", "export"]);
        assert.ok(!state.includes(e2eTls().key.split("\n")[1]), "the TLS key is a secret in the state");
        assert.ok(state.includes("istio-canary:index:CanaryRelease"), "the release is the package's component");
    });

    it("shifts the weight with pulumi config set + pulumi up, its preview and update changing only the routes", () => {
        const out = run(walkthrough("shift"), dir);
        assert.match(out, /~ .*VirtualService/);
        assert.doesNotMatch(out, /^\s*(?:\+-|[~+-]) +kubernetes:apps\/v1:Deployment/m);
        assert.deepStrictEqual(JSON.parse(out.slice(out.lastIndexOf("{"))), { canary: 30, stable: 70 });
        assert.deepStrictEqual(liveWeights(NS, "shop"), [
            ["stable", 70],
            ["canary", 30],
        ]);
    });
});

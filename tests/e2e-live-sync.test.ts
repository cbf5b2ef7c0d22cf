/**
 * The e2e suite's synchronous object reads (tests/e2e/live-sync.ts), against a stand-in API server in another
 * process (the reading thread blocks this one): the object's own NotFound is "none", a path the server does not
 * serve is an error, never an absent object.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "../stacks/automation/dev-tls";

/**
 * The stand-in: one deployment "a" in namespace "ns"; NotFound for other deployments; a JSON 404 for other paths of
 * apps/v1 and the plain-text one of kube-apiserver for any other group or version.
 */
const SERVER = `
const https = require("https");
const [cert, key] = [process.env.CERT, process.env.KEY];
const server = https.createServer({ cert, key }, (req, res) => {
    const m = /^\\/apis\\/apps\\/v1\\/namespaces\\/ns\\/deployments\\/([^/]+)$/.exec(req.url);
    const send = (status, body) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
    if (req.headers.authorization !== "Bearer t0ken") return send(401, { message: "Unauthorized" });
    if (m && m[1] === "a") return send(200, { kind: "Deployment", metadata: { name: "a", namespace: "ns" } });
    if (m) return send(404, { kind: "Status", reason: "NotFound", message: 'deployments.apps "' + m[1] + '" not found' });
    if (req.url.startsWith("/apis/apps/v1/")) return send(404, { kind: "Status", reason: "NotFound", message: "the server could not find the requested resource" });
    res.writeHead(404, { "content-type": "text/plain" }); // as kube-apiserver answers a group or version it does not serve
    res.end("404 page not found\\n");
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

describe("the e2e suite's synchronous reads (tests/e2e/live-sync.ts)", () => {
    let server: ChildProcess;
    let dir: string;
    let sync: typeof import("./e2e/live-sync");
    const saved = process.env.KUBECONFIG;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-live-sync-"));
        const tls = selfSignedCertificate(["127.0.0.1"]);
        server = spawn(process.execPath, ["-e", SERVER], {
            env: { ...process.env, CERT: tls.cert, KEY: tls.key },
            stdio: ["ignore", "pipe", "inherit"],
        });
        const port = await new Promise<string>((resolve) =>
            server.stdout!.once("data", (d: Buffer) => resolve(String(d).trim())),
        );
        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(
            kubeconfig,
            [
                "apiVersion: v1",
                "kind: Config",
                "current-context: c",
                "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:" +
                    port +
                    "', insecure-skip-tls-verify: true}}]",
                "users: [{name: u, user: {token: t0ken}}]",
                "contexts: [{name: c, context: {cluster: c, user: u}}]",
            ].join("\n"),
        );
        process.env.KUBECONFIG = kubeconfig; // read by the reading thread when it starts (on the first read)
        sync = await import("./e2e/live-sync");
    });

    after(() => {
        server.kill();
        fs.rmSync(dir, { recursive: true, force: true });
        if (saved === undefined) {
            delete process.env.KUBECONFIG;
        } else {
            process.env.KUBECONFIG = saved;
        }
    });

    it("objectPath: the kinds the tests name, namespaced or not; undefined for any other (kubectl reads those)", () => {
        assert.strictEqual(sync.objectPath("deployment", "ns", "a"), "/apis/apps/v1/namespaces/ns/deployments/a");
        assert.strictEqual(
            sync.objectPath("virtualservices.networking.istio.io", "ns", "shop"),
            "/apis/networking.istio.io/v1/namespaces/ns/virtualservices/shop",
        );
        assert.strictEqual(
            sync.objectPath("peerauthentications.security.istio.io", "ns", "p"),
            "/apis/security.istio.io/v1/namespaces/ns/peerauthentications/p",
        );
        assert.strictEqual(
            sync.objectPath("hpa", "ns", "h"),
            "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers/h",
        );
        assert.strictEqual(sync.objectPath("namespace", "", "ns"), "/api/v1/namespaces/ns");
        assert.strictEqual(
            sync.objectPath("namespace", "ns", "ns"),
            undefined,
            "a cluster-scoped kind with a namespace",
        );
        assert.strictEqual(sync.objectPath("deployment", "", "a"), undefined, "a namespaced kind without one");
        assert.strictEqual(sync.objectPath("replicasets", "ns", "r"), undefined);
        assert.strictEqual(sync.objectPath("gateway", "ns", "g"), undefined, "Istio's Gateway or the Gateway API's");
        assert.strictEqual(
            sync.objectPath("authorizationpolicy", "ns", "a"),
            "/apis/security.istio.io/v1/namespaces/ns/authorizationpolicies/a",
        );
    });

    it("getSync returns the object, undefined on the object's NotFound, and throws on a path not served (JSON or not)", () => {
        assert.deepStrictEqual(sync.getSync("/apis/apps/v1/namespaces/ns/deployments/a"), {
            kind: "Deployment",
            metadata: { name: "a", namespace: "ns" },
        });
        assert.strictEqual(sync.getSync("/apis/apps/v1/namespaces/ns/deployments/b"), undefined);
        assert.throws(
            () => sync.getSync("/apis/apps/v1/namespaces/ns/statefulsets/b"),
            /404 the server could not find the requested resource/,
        );
        assert.throws(() => sync.getSync("/apis/apps/v9/namespaces/ns/deployments/b"), /: 404 404 page not found$/);
        // Many reads in a row, each answered in order.
        for (let i = 0; i < 20; i++) {
            assert.strictEqual(
                sync.getSync<{ metadata: { name: string } }>("/apis/apps/v1/namespaces/ns/deployments/a")!.metadata
                    .name,
                "a",
            );
        }
    });
});

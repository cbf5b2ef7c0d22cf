/**
 * One measurement: registers N CanaryRelease instances under Pulumi mocks in a fresh process and prints
 * {n, ms, heapBytes, resources} as JSON. Run by bench/eval.ts; not a test.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryRelease } from "../components";
import { selfSignedCertificate } from "../stacks/automation/dev-tls";

class CountingMocks implements pulumi.runtime.Mocks {
    resources = 0;
    newResource(args: pulumi.runtime.MockResourceArgs) {
        this.resources++;
        return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> };
    }
    call(): Record<string, unknown> {
        throw new Error("unexpected call");
    }
}

async function main(): Promise<void> {
    const n = Number(process.argv[2]);
    const tls = selfSignedCertificate(["app.example.test"]);
    const gc = (globalThis as { gc?: () => void }).gc;
    const mocks = new CountingMocks();
    await pulumi.runtime.setMocks(mocks, "istio-canary", "bench", false);
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
        new CanaryRelease(`app${i}`, {
            app: `app${i}`,
            stable: { image: "registry.example.test/app:1.0.0", version: "v1" },
            canary: { image: "registry.example.test/app:2.0.0", version: "v2" },
            canaryWeight: 10,
            canaryHeader: { name: "x-canary", value: "true" },
            hosts: ["app.example.test"],
            tls: { cert: tls.cert, key: pulumi.secret(tls.key) },
            gateway: { namespace: "istio-ingress", selector: { istio: "ingressgateway" } },
        });
    }
    await pulumi.runtime.disconnect();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const heapPeak = process.memoryUsage().heapUsed;
    process.stdout.write(
        JSON.stringify({ n, ms, heapBytes: heapPeak - heapBefore, resources: mocks.resources }) + "\n",
    );
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});

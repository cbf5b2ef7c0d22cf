/**
 * `istioctl analyze` scoped to a suite's namespaces (scripts/mesh/istio-checks.ts): suites running side by side
 * each judge their own objects, while Istio's namespaces and cluster-scoped objects count for every suite, and the
 * documented exceptions stay expected.
 */
import * as assert from "assert";
import { ANALYZE_EXCEPTIONS, AnalyzerMessage, judgeFindings, originNamespace } from "../../scripts/mesh/istio-checks";

/** An exception as a cluster that cannot inject sidecars would document it (this one injects: it has none). */
const NO_PROXY = [{ code: "IST0103", origin: /^Pod /, why: "no sidecar injection" }];

const finding = (code: string, level: AnalyzerMessage["level"], origin: string): AnalyzerMessage => ({
    code,
    level,
    origin,
    message: `${code} on ${origin}`,
});

describe("istioctl analyze findings by namespace", () => {
    it("reads the namespace of a namespaced origin, and none of a cluster-scoped one", () => {
        assert.strictEqual(originNamespace("VirtualService shop-release/shop"), "shop-release");
        assert.strictEqual(originNamespace("Pod istio-ingress/istio-ingressgateway-7d9f-abcde"), "istio-ingress");
        assert.strictEqual(originNamespace("Namespace shop-release"), undefined);
        assert.strictEqual(originNamespace("MutatingWebhookConfiguration istio-sidecar-injector"), undefined);
    });

    const all = [
        finding("IST0101", "Error", "VirtualService shop-a/shop"), // this suite's
        finding("IST0101", "Error", "VirtualService shop-b/shop"), // another lane's
        finding("IST0145", "Error", "Gateway istio-ingress/shared"), // Istio's namespace: everyone's
        finding("IST0118", "Warning", "ValidatingWebhookConfiguration istio-validator"), // cluster-scoped
        finding("IST0103", "Warning", "Pod shop-a/shop-stable-1"), // a documented exception
        finding("IST0103", "Warning", "Pod shop-b/shop-stable-1"),
        finding("IST0102", "Info", "Namespace shop-a"),
    ];

    it("with namespaces, leaves out the findings of other namespaces only", () => {
        const r = judgeFindings(all, ["shop-a"], NO_PROXY);
        assert.deepStrictEqual(
            r.unexpected.map((m) => m.origin),
            [
                "VirtualService shop-a/shop",
                "Gateway istio-ingress/shared",
                "ValidatingWebhookConfiguration istio-validator",
            ],
        );
        assert.deepStrictEqual(
            r.expected.map((m) => m.origin),
            ["Pod shop-a/shop-stable-1"],
        );
        assert.deepStrictEqual(
            r.info.map((m) => m.origin),
            ["Namespace shop-a"],
        );
    });

    it("without namespaces, judges every finding", () => {
        const r = judgeFindings(all, undefined, NO_PROXY);
        assert.strictEqual(r.unexpected.length, 4);
        assert.strictEqual(r.expected.length, 2);
    });

    it("this cluster injects sidecars: a pod without a proxy (IST0103) or a gateway left at `image: auto` (IST0147) is unexpected", () => {
        assert.deepStrictEqual(
            ANALYZE_EXCEPTIONS.map((e) => e.code),
            ["IST0173"],
        );
        const r = judgeFindings([
            finding("IST0103", "Warning", "Pod shop-a/shop-stable-1"),
            finding("IST0147", "Error", "Pod istio-ingress/istio-ingressgateway-7d9f-abcde"),
        ]);
        assert.deepStrictEqual(
            r.unexpected.map((m) => m.code),
            ["IST0103", "IST0147"],
        );
    });
});

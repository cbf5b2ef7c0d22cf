/** istio-canary: Pulumi components for canary releases on Kubernetes with Istio. */
export * from "./canary-release";
export * from "./canary-release-args";
export * from "./canary-release-rules";
export * from "./istio-mesh";
export * from "./istio-types";
export * from "./names";
export * from "./pod";
export * from "./promql";
export * from "./routing";
export * from "./tls";
export * from "./validation";
export * from "./values";

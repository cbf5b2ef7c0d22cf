/**
 * The Kubernetes Gateway API's CRDs, read from a directory of the release's YAML files (the standard channel's
 * `gateway.networking.k8s.io_*.yaml`, as scripts/toolchain/gateway-api.sh extracts them from the
 * sigs.k8s.io/gateway-api Go module) for IstioMesh to install.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

/** One CustomResourceDefinition as its file gives it. */
export interface CrdManifest {
    apiVersion: string;
    kind: "CustomResourceDefinition";
    metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
    spec: { group: string } & Record<string, unknown>;
}

/** The group every Gateway API CRD belongs to. */
export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

/** The CRDs the `gateway-api` routing mode needs among them. */
export const REQUIRED_GATEWAY_API_CRDS = ["gateways", "httproutes"].map((p) => `${p}.${GATEWAY_API_GROUP}`);

/**
 * Every CustomResourceDefinition of the Gateway API in the YAML files of `dir` (other documents are skipped), sorted
 * by name. Throws, naming `field`, when the directory cannot be read or lacks the Gateway or HTTPRoute CRD.
 */
export function readGatewayApiCrds(dir: string, field = "gatewayApiCrdsDir"): CrdManifest[] {
    let files: string[];
    try {
        files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    } catch (e) {
        throw new Error(
            `${field} must be a directory of the Gateway API's CRD files; cannot read "${dir}": ${(e as Error).message}`,
        );
    }
    const crds = files
        .flatMap((f) => yaml.loadAll(fs.readFileSync(path.join(dir, f), "utf8")))
        .filter(
            (d): d is CrdManifest =>
                typeof d === "object" &&
                d !== null &&
                (d as CrdManifest).kind === "CustomResourceDefinition" &&
                (d as CrdManifest).spec?.group === GATEWAY_API_GROUP,
        )
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const missing = REQUIRED_GATEWAY_API_CRDS.filter((n) => !crds.some((c) => c.metadata.name === n));
    if (missing.length > 0) {
        throw new Error(
            `${field} must be a directory of the Gateway API's CRD files (its standard channel's gateway.networking.k8s.io_*.yaml); "${dir}" has no ${missing.join(" or ")}`,
        );
    }
    return crds;
}

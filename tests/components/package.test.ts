/**
 * The repository as a Pulumi component package (PulumiPlugin.yaml): what `pulumi package add <dir>` and
 * `pulumi package get-schema <dir>` load, and the schema @pulumi/pulumi's inference derives from the sources.
 * tests/e2e/07-package.test.ts runs the same through the CLI and a YAML program.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental/provider";
import { withMocks } from "../harness";

const ROOT = path.resolve(__dirname, "..", "..");

interface Property {
    type?: string;
    $ref?: string;
    plain?: boolean;
    description?: string;
    items?: Property;
    additionalProperties?: Property;
}
interface Schema {
    name: string;
    types: Record<string, { properties?: Record<string, Property>; enum?: { value: string }[] }>;
    resources: Record<
        string,
        { isComponent: boolean; inputProperties: Record<string, Property>; properties: Record<string, Property> }
    >;
}

/** The package's schema, as the component provider serves it to `pulumi package get-schema`. */
async function schema(): Promise<Schema> {
    // The plugin loads the package as `require(<dir>)`, so package.json's `main` decides what runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const components = getPulumiComponents(require(ROOT));
    const provider = new ComponentProvider({ name: "istio-canary", dirname: ROOT, components });
    return JSON.parse(await provider.getSchema()) as Schema;
}

describe("component package", function () {
    this.timeout(120000);
    let s: Schema;
    before(async () => {
        s = await schema();
    });

    it("is a Node.js plugin whose entry point is the components, not the program", async () => {
        assert.deepStrictEqual(yaml.load(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")), {
            runtime: "nodejs",
        });
        assert.strictEqual(require.resolve(ROOT), path.join(ROOT, "components", "package.js"));
        let exported: Record<string, unknown> = {};
        // Loading the program would read stack config and register resources; the package registers nothing.
        delete require.cache[require.resolve(ROOT)];
        const mocks = await withMocks(() => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            exported = require(ROOT) as Record<string, unknown>;
        });
        assert.deepStrictEqual(mocks.resources, []);
        assert.deepStrictEqual(
            getPulumiComponents(exported).map((c) => c.name),
            ["CanaryRelease", "IstioMesh"],
        );
        assert.strictEqual(exported.url, undefined, "the program's exports are not the package's");
    });

    it("infers CanaryRelease and IstioMesh as components of the istio-canary package", () => {
        assert.strictEqual(s.name, "istio-canary");
        assert.deepStrictEqual(Object.keys(s.resources).sort(), [
            "istio-canary:index:CanaryRelease",
            "istio-canary:index:IstioMesh",
        ]);
        assert.ok(Object.values(s.resources).every((r) => r.isComponent));
    });

    it("takes Outputs where a user could compute the value, plain values where it shapes resources", () => {
        const release = s.resources["istio-canary:index:CanaryRelease"];
        const inputs = Object.keys(release.inputProperties).filter((k) => !release.inputProperties[k].plain);
        assert.deepStrictEqual(inputs.sort(), [
            "canary",
            "canaryReplicas",
            "canaryWeight",
            "env",
            "hosts",
            "replicas",
            "stable",
        ]);
        for (const type of ["TrackArgs", "TlsArgs", "GatewayArgs"]) {
            const props = s.types[`istio-canary:index:${type}`].properties ?? {};
            assert.deepStrictEqual(
                Object.keys(props).filter((k) => props[k].plain),
                [],
                `${type}'s fields take Outputs`,
            );
        }
        assert.deepStrictEqual(Object.keys(release.properties).sort(), [
            "canaryReplicas",
            "namespace",
            "routeUrns",
            "routingUrn",
            "routingUrns",
            "splitQuery",
            "url",
            "weights",
        ]);
        assert.deepStrictEqual(
            s.types["istio-canary:index:TLSProtocolVersion"].enum?.map((e) => e.value),
            ["TLSV1_2", "TLSV1_3"],
        );
    });

    it("describes every argument and output with its JSDoc text", () => {
        const missing: string[] = [];
        const garbled: string[] = [];
        const check = (where: string, props: Record<string, Property> = {}) => {
            for (const [name, p] of Object.entries(props)) {
                if (!p.description) {
                    missing.push(`${where}.${name}`);
                } else if (p.description.includes("[object Object]")) {
                    garbled.push(`${where}.${name}`);
                }
            }
        };
        for (const [token, r] of Object.entries(s.resources)) {
            check(`${token} input`, r.inputProperties);
            check(`${token} output`, r.properties);
        }
        for (const [token, t] of Object.entries(s.types)) {
            check(token, t.properties);
        }
        assert.deepStrictEqual(garbled, []);
        assert.deepStrictEqual(missing, []);
        assert.ok(!JSON.stringify(s).includes("[object Object]"));
        assert.match(
            s.resources["istio-canary:index:CanaryRelease"].inputProperties.canaryWeight.description ?? "",
            /^Percentage \(integer 0\.\.100\) of the default route sent to the canary\. Defaults to 0\.$/,
        );
    });
});

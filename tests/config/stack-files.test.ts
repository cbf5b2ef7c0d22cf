import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseConfig, ProgramConfig } from "../../config/program";
import { durationMs } from "../../components/validation";
import { shopPair } from "../fixtures/tls";
import { stackFileConfig } from "../../stacks/automation/scratch";

const ROOT = path.join(__dirname, "..", "..");

function stackConfig(stack: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
    };
    for (const k of Object.keys(doc.config)) {
        assert.ok(k.startsWith("istio-canary:"), `${stack}: ${k} is in the program's namespace`);
    }
    return stackFileConfig(stack);
}

function parse(stack: string): ProgramConfig {
    const raw = stackConfig(stack);
    if (raw.tlsSecretName === undefined) {
        // dev gets its pair from `npm run dev:tls`; stand in for it.
        const { cert, key } = shopPair();
        Object.assign(raw, { tlsCert: cert, tlsKey: key });
    }
    return parseConfig(raw, new Set(["tlsCert", "tlsKey"]));
}

describe("committed stack files", () => {
    const stacks = ["dev", "staging", "prod"];
    for (const stack of stacks) {
        it(`Pulumi.${stack}.yaml is a valid config with a release policy`, () => {
            const cfg = parse(stack);
            assert.strictEqual(cfg.release.canaryWeight, 0);
            assert.ok(cfg.policy.prometheusUrl);
        });
    }

    it("release policy gets stricter from dev to staging to prod, and prod strictly stricter than dev", () => {
        const [dev, staging, prod] = stacks.map((s) => parse(s).policy);
        // Never looser from one environment to the next, and strictly tighter from the first to the last.
        const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]) && xs[2] > xs[0];
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => p.steps.length)), "more steps");
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => durationMs(p.interval)!)), "longer intervals");
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => p.minSuccessRate ?? 0)), "higher success rate");
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => p.minRequests)), "more traffic before judging");
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => -p.failureThreshold)), "fewer tolerated failures");
        assert.ok(nonDecreasing([dev, staging, prod].map((p) => -(p.maxLatencyMs ?? Infinity))), "lower latency bound");
        assert.strictEqual(prod.noData, "fail");
        assert.ok(prod.mirrorPercent > 0, "prod mirrors before shifting");
        assert.ok(staging.headerPhase, "staging has a header-only phase");
    });

    it("dev uses the local charts and a ClusterIP gateway; staging and prod a chart repository and a load balancer", () => {
        const dev = parse("dev").mesh;
        assert.match(dev.chartDir ?? "", /\/\.cache\/istio-canary\/istio\/v0\.0\.0-[^/]+\/charts$/);
        assert.strictEqual(dev.gatewayServiceType, "ClusterIP");
        for (const s of ["staging", "prod"]) {
            const mesh = parse(s).mesh;
            assert.strictEqual(mesh.chartDir, undefined);
            assert.strictEqual(mesh.gatewayServiceType, "LoadBalancer");
            assert.strictEqual(mesh.version, "1.31.0");
        }
    });

    it("dev's chart directory is the one scripts/versions.sh pins", () => {
        const versions = fs.readFileSync(path.join(ROOT, "scripts", "versions.sh"), "utf8");
        const pinned = /ISTIO_MODULE_VERSION=(\S+)/.exec(versions)![1];
        assert.ok(parse("dev").mesh.chartDir!.includes(`/istio/${pinned}/charts`));
    });
});

/** The keys of what the pods and the mesh carry: defaults on, each key turns its part off, exact messages. */
import * as assert from "assert";
import { parseConfig } from "../../config/program";
import { configProblems, SECRET_KEYS, validConfig } from "../fixtures/config";

const secrets = new Set(SECRET_KEYS);
const problems = configProblems;

describe("hardening keys", () => {
    it("each part is on by default; its key turns it off; the ephemeral-storage quantities go into resources", () => {
        const on = parseConfig(validConfig(), secrets).release;
        assert.deepStrictEqual(
            [on.serviceAccount, on.tmpVolume, on.ephemeralStorage, on.podDisruptionBudgets],
            [true, true, true, true],
        );
        const off = parseConfig(
            validConfig({
                serviceAccount: "false",
                tmpVolume: "false",
                ephemeralStorage: "false",
                podDisruptionBudgets: "false",
                ephemeralStorageRequest: "1Gi",
                ephemeralStorageLimit: "2Gi",
            }),
            secrets,
        ).release;
        assert.deepStrictEqual(
            [off.serviceAccount, off.tmpVolume, off.ephemeralStorage, off.podDisruptionBudgets],
            [false, false, false, false],
        );
        assert.deepStrictEqual(off.resources, {
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            cpuLimit: "500m",
            memoryLimit: "256Mi",
            ephemeralStorageRequest: "1Gi",
            ephemeralStorageLimit: "2Gi",
        });
    });

    it("ephemeral-storage quantities: Kubernetes quantities, else the key and what it accepts", () => {
        assert.deepStrictEqual(problems(validConfig({ ephemeralStorageLimit: "lots" })), [
            'ephemeralStorageLimit must be a Kubernetes quantity such as "100m" or "128Mi"; got "lots"',
        ]);
    });
});

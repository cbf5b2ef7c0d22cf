/**
 * Root hooks of the end-to-end suite (.mocharc.e2e.json requires this file): every test ends by settling the Istio
 * checks of the changes it made (tests/e2e/harness.ts, istioChecks): the loopback guard and `istioctl analyze`.
 */
import { istioChecks } from "./harness";

export const mochaHooks = {
    async afterEach(): Promise<void> {
        await istioChecks.settle();
    },
};

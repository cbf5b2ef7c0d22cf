/** The pack's policies, in the order they are reported. */
import { Policies } from "@pulumi/policy";
import { gatewayMinTls } from "./gateway";
import { ReleaseContext, releasePolicies } from "./release";
import { routeWeights, subsetsDefined } from "./routing";
import { imagesPinned, noPlainSecrets, readyReplicasPolicy } from "./workloads";

export function policies(ctx: ReleaseContext): Policies {
    return [
        routeWeights,
        subsetsDefined,
        ...releasePolicies(ctx),
        readyReplicasPolicy,
        imagesPinned,
        gatewayMinTls,
        noPlainSecrets,
    ];
}

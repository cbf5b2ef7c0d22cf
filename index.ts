/**
 * The istio-canary program: stack config -> components -> exports, nothing else. Its body is
 * stacks/program.ts's `program()`, which the release bot also runs inline in its own process; the stack outputs
 * are documented on {@link ProgramOutputs}.
 */
import { program, ProgramOutputs } from "./stacks/program";

const outputs: ProgramOutputs = program();

export const {
    url,
    weights,
    namespace,
    stable,
    canary,
    release,
    splitQuery,
    gatewayNamespace,
    routingUrn,
    routeUrns,
    routingUrns,
} = outputs;

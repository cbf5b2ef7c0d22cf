/**
 * istio-canary's release tooling as a library: run the release bot or a promotion from your own Automation API
 * program (the command-line tools in stacks/cli are thin wrappers around these).
 */
export { AutomationStack } from "./automation/local-stack";
export {
    PlanMismatchError,
    PreviewOptions,
    PreviewResult,
    PulumiCliMissingError,
    ResourceChange,
    StackConfig,
    StackDriver,
    StackLockedError,
    StackNotFoundError,
    UpOptions,
    UpSummary,
} from "./automation/driver";
export { Clock, ReleaseDeps, ReleaseOptions } from "./release/context";
export { ConfigSource } from "./release/origin";
export { MetricsSource, PrometheusClient, PrometheusOptions, QueryResult } from "./release/prometheus";
export {
    EXIT_CODE_TABLE,
    EXIT_CODES,
    exitCode,
    Outcome,
    PreflightError,
    ReleaseEvent,
    ReleaseResult,
    RollbackCause,
} from "./release/result";
export { writeReport } from "./release/report";
export { runRelease } from "./release/run";
export {
    decidePromotion,
    promote,
    PromoteOptions,
    PromotionDecision,
    PromotionResult,
    PromotionState,
} from "./promote/promote";

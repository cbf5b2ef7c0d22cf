/**
 * istio-canary's release tooling as a library: run the release bot or a promotion from your own Automation API
 * program (the command-line tools in stacks/cli are thin wrappers around these).
 */
export { AutomationStack } from "./automation/local-stack";
export {
    PlanMismatchError,
    type PreviewOptions,
    type PreviewResult,
    PulumiCliMissingError,
    type ResourceChange,
    type StackConfig,
    type StackDriver,
    StackLockedError,
    StackNotFoundError,
    type UpOptions,
    type UpSummary,
} from "./automation/driver";
export { type Clock, type ReleaseDeps, type ReleaseOptions } from "./release/context";
export { type ConfigSource } from "./release/origin";
export { type MetricsSource, PrometheusClient, type PrometheusOptions, type QueryResult } from "./release/prometheus";
export {
    EXIT_CODE_TABLE,
    EXIT_CODES,
    exitCode,
    type Outcome,
    PreflightError,
    type PromotionAudit,
    type ReleaseEvent,
    type ReleaseResult,
    type RollbackCause,
} from "./release/result";
export { writeReport } from "./release/report";
export {
    DELIVERY_HEADER,
    HOOK_TYPE_HEADER,
    type HookCall,
    type HookPayload,
    signature,
    SIGNATURE_HEADER,
    verifySignature,
} from "./release/hooks";
export { runRelease } from "./release/run";
export {
    decidePromotion,
    promote,
    type PromoteOptions,
    type PromotionDecision,
    type PromotionResult,
    type PromotionState,
} from "./promote/promote";
export { approvePromotion } from "./promote/promotion-gates";

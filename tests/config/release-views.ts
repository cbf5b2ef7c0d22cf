import { Approval, ReleaseView } from "../../config/release-state";

/** A release of v2 running at canaryWeight 25 over stable v1. */
export const running: ReleaseView = {
    state: {
        status: "in-progress",
        version: "v2",
        image: "r/app:2",
        phase: "steps",
        previousImage: "r/app:1",
        previousVersion: "v1",
    },
    canaryWeight: 25,
    stable: { image: "r/app:1", version: "v1" },
    canary: { image: "r/app:2", version: "v2" },
};

/** An approval of v2 at the gate before 50, overridden by `d`. */
export const approval = (d: Partial<Approval> = {}): Approval => ({
    gate: "50",
    version: "v2",
    decision: "approve",
    by: "alice",
    at: "2026-11-30T10:00:00.000Z",
    ...d,
});

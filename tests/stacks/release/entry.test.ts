/**
 * Where a run enters the release (entry.ts): the whole table of what the bot does first, by the release's status
 * and what was asked. Each row holds with and without --dry-run: a dry run enters the same way.
 */
import * as assert from "assert";
import { RELEASE_STATUSES, ReleaseState, ReleaseStatus, ReleaseView } from "../../../config/release-state";
import { Entry, EntryRequest, entryOf } from "../../../stacks/release/entry";

/** A release of v2 with `status` (waiting at gate 50 when awaiting approval), at canaryWeight 25. */
function release(status: ReleaseStatus, extra: Partial<ReleaseState> = {}): ReleaseView {
    return {
        state: {
            status,
            version: "v2",
            image: "r/app:2",
            ...(status === "awaiting-approval" ? { gate: "50" } : {}),
            ...extra,
        },
        canaryWeight: 25,
        stable: { image: "r/app:1", version: "v1" },
        canary: { image: "r/app:2", version: "v2" },
    };
}

const FRESH: EntryRequest = {};
const RESUME: EntryRequest = { resume: true };
// The command-line tool sets resume with a decision; a decision implies it anyway (the last rows).
const APPROVE: EntryRequest = { resume: true, decision: { kind: "approve", by: "alice" } };
const ABORT: EntryRequest = { resume: true, decision: { kind: "abort", by: "carol" } };

const NOTHING = (status: string) =>
    `nothing to resume on stack dev: releaseStatus is "${status}", not "in-progress", "awaiting-approval" or "rolling-back"`;
const UNDER_WAY = (words: string) =>
    `a release is already ${words} on stack dev: v2 at canaryWeight 25. Resume it with --resume (only if no other bot is running it).`;
const NOT_WAITING = (status: string) =>
    `the release of v2 on stack dev is not waiting for approval (it is ${status}): it moved on`;
const NO_RELEASE = (what: string, status: string) =>
    `stack dev has no release ${what} (releaseStatus is "${status}", last release v2): wrong stack?`;
const refused = (reason: string): Entry => ({ kind: "refused", reason });

/** [what the row says, the release, what was asked, whether stack config holds writes never deployed, the entry] */
const TABLE: [string, ReleaseView, EntryRequest, boolean, Entry][] = [
    ["idle: a new release", release("idle"), FRESH, false, { kind: "fresh" }],
    ["idle: nothing to resume", release("idle"), RESUME, false, refused(NOTHING("idle"))],
    ["idle: nothing to approve", release("idle"), APPROVE, false, refused(NO_RELEASE("waiting for approval", "idle"))],
    ["idle: nothing to abort", release("idle"), ABORT, false, refused(NO_RELEASE("to abort", "idle"))],

    ["in progress: no second release", release("in-progress"), FRESH, false, refused(UNDER_WAY("in progress"))],
    ["in progress: resumed from its stage", release("in-progress"), RESUME, false, { kind: "resume-from-stage" }],
    ["in progress: not at a gate", release("in-progress"), APPROVE, false, refused(NOT_WAITING("in-progress"))],
    ["in progress: aborted", release("in-progress"), ABORT, false, { kind: "abort", by: "carol" }],

    [
        "at gate 50: no second release",
        release("awaiting-approval"),
        FRESH,
        false,
        refused(UNDER_WAY("waiting for approval")),
    ],
    ["at gate 50: --resume waits there again", release("awaiting-approval"), RESUME, false, from(undefined)],
    ["at gate 50: --approve passes it and goes on", release("awaiting-approval"), APPROVE, false, from("alice")],
    [
        "at gate 50: --approve --gate 50 too",
        release("awaiting-approval"),
        { ...APPROVE, decision: { kind: "approve", by: "alice", gate: "50" } },
        false,
        from("alice"),
    ],
    [
        "at gate 50: --approve --gate 25 is for a gate it left",
        release("awaiting-approval"),
        { ...APPROVE, decision: { kind: "approve", by: "alice", gate: "25" } },
        false,
        refused(
            "stack dev waits at gate 50 (before step 50) for v2 (image r/app:2); --approve --gate 25 does not match: it moved on",
        ),
    ],
    [
        "at gate 50: --approve --version v3 is for another release",
        release("awaiting-approval"),
        { ...APPROVE, version: "v3" },
        false,
        refused(
            "stack dev waits at gate 50 (before step 50) for v2 (image r/app:2); --approve --version v3 does not match: a decision is for one version",
        ),
    ],
    ["at gate 50: --abort rolls back", release("awaiting-approval"), ABORT, false, { kind: "abort", by: "carol" }],

    ["rolling back: no new release", release("rolling-back"), FRESH, false, refused(UNDER_WAY("rolling back"))],
    ["rolling back: finished", release("rolling-back"), RESUME, false, { kind: "finish-rollback" }],
    ["rolling back: nothing to approve", release("rolling-back"), APPROVE, false, refused(NOT_WAITING("rolling-back"))],
    [
        "rolling back: an abort finishes it, told",
        release("rolling-back"),
        ABORT,
        false,
        { kind: "finish-rollback", abortedBy: "carol" },
    ],

    ["completed: a new release", release("completed"), FRESH, false, { kind: "fresh" }],
    ["completed and deployed: nothing to resume", release("completed"), RESUME, false, refused(NOTHING("completed"))],
    ["completed, never deployed: deployed now", release("completed"), RESUME, true, { kind: "apply-final" }],
    [
        "completed: nothing to decide",
        release("completed"),
        APPROVE,
        true,
        refused(NO_RELEASE("waiting for approval", "completed")),
    ],
    ["completed: nothing to abort", release("completed"), ABORT, true, refused(NO_RELEASE("to abort", "completed"))],
    ["rolled back: a new release", release("rolled-back"), FRESH, true, { kind: "fresh" }],
    ["rolled back and deployed: nothing", release("rolled-back"), RESUME, false, refused(NOTHING("rolled-back"))],
    ["rolled back, never deployed: deployed now", release("rolled-back"), RESUME, true, { kind: "apply-final" }],
    [
        "rolled back: nothing to approve",
        release("rolled-back"),
        APPROVE,
        true,
        refused(NO_RELEASE("waiting for approval", "rolled-back")),
    ],
    [
        "rolled back: nothing to abort",
        release("rolled-back"),
        ABORT,
        true,
        refused(NO_RELEASE("to abort", "rolled-back")),
    ],
    ["failed: a new release", release("failed"), FRESH, false, { kind: "fresh" }],
    ["failed: never a final write to deploy", release("failed"), RESUME, true, refused(NOTHING("failed"))],
    [
        "failed: nothing to approve",
        release("failed"),
        APPROVE,
        false,
        refused(NO_RELEASE("waiting for approval", "failed")),
    ],
    ["failed: nothing to abort", release("failed"), ABORT, false, refused(NO_RELEASE("to abort", "failed"))],

    [
        "in progress with no version recorded: nothing to resume",
        release("in-progress", { version: undefined }),
        RESUME,
        false,
        refused(NOTHING("in-progress")),
    ],
    [
        "in progress with no image recorded: nothing to resume",
        release("in-progress", { image: undefined }),
        RESUME,
        false,
        refused(NOTHING("in-progress")),
    ],
    [
        "at a gate with no image recorded: nothing to approve",
        release("awaiting-approval", { image: undefined }),
        APPROVE,
        false,
        refused(NOTHING("awaiting-approval")),
    ],
    [
        "a release under way with no version recorded says '?' for it",
        release("in-progress", { version: undefined }),
        FRESH,
        false,
        refused(
            "a release is already in progress on stack dev: ? at canaryWeight 25. Resume it with --resume (only if no other bot is running it).",
        ),
    ],
    [
        "a decision for a version, on a release with none recorded",
        release("awaiting-approval", { version: undefined }),
        { ...APPROVE, version: "v3" },
        false,
        refused(
            "stack dev waits at gate 50 (before step 50) for ? (image r/app:2); --approve --version v3 does not match: a decision is for one version",
        ),
    ],
    [
        "an approval of a release with no version recorded that is not at a gate",
        release("in-progress", { version: undefined, phase: "steps" }),
        APPROVE,
        false,
        refused("the release of ? on stack dev is not waiting for approval (it is in-progress, steps): it moved on"),
    ],
    [
        "an approval for gate 25 of a release waiting with no gate nor version recorded",
        release("awaiting-approval", { version: undefined, gate: undefined }),
        { ...APPROVE, decision: { kind: "approve", by: "alice", gate: "25" } },
        false,
        refused(
            "stack dev waits at gate ? (before step ?) for ? (image r/app:2); --approve --gate 25 does not match: it moved on",
        ),
    ],
    [
        "a decision without --resume resumes all the same",
        release("awaiting-approval"),
        { decision: { kind: "approve", by: "alice" } },
        false,
        from("alice"),
    ],
    [
        "an abort without --resume too",
        release("rolling-back"),
        { decision: { kind: "abort", by: "carol" } },
        false,
        { kind: "finish-rollback", abortedBy: "carol" },
    ],
];

/** From gate 50, approved by `by` (--approve) or waiting there again. */
function from(by: string | undefined): Entry {
    return by === undefined ? { kind: "from-gate", gate: "50" } : { kind: "from-gate", gate: "50", approvedBy: by };
}

describe("entry: what a run does first, by the release's status and what was asked", () => {
    for (const [what, view, asked, undeployed, entry] of TABLE) {
        it(what, () => {
            for (const dryRun of [false, true]) {
                assert.deepStrictEqual(entryOf("dev", view, { ...asked, dryRun } as EntryRequest, undeployed), entry);
            }
        });
    }

    it("the table meets every status with every request: a new release, --resume, --approve, --abort", () => {
        const asked = (r: EntryRequest) => r.decision?.kind ?? (r.resume ? "resume" : "fresh");
        const met = new Set(TABLE.map(([, view, r]) => `${view.state.status} ${asked(r)}`));
        for (const status of RELEASE_STATUSES) {
            for (const request of ["fresh", "resume", "approve", "abort"]) {
                assert.ok(met.has(`${status} ${request}`), `${status} ${request}`);
            }
        }
    });
});

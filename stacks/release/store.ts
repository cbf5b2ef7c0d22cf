/**
 * The one writer of a release's state. Each change is a typed transition of config/release-transitions.ts: the
 * lease is compared, the keys the transition changed are written (with the lease renewed in them), the update is
 * previewed with a saved plan and checked where the step asks for it, then applied with exactly that plan. When
 * nothing was applied (a lock, a refused plan), the keys are put back where stack config still holds what the
 * store wrote. The store knows the release as stack config holds it ({@link ReleaseStore.view}) and the protocol
 * keys of the last update it ran ({@link ReleaseStore.deployed}); the lease is behind {@link ReleaseLease}.
 */
import { ConfigChanges, configChanges, PROTOCOL_KEYS, ReleaseView } from "../../config/release-state";
import { PlanMismatchError, StackDriver, StackLockedError, UpSummary } from "../automation/driver";
import { PlanGuardError, planViolations, StepKind } from "./guard";
import { ReleaseLease, restoreIfOurs } from "./lease";

/** How one transition is applied. */
export interface TransitionOptions {
    /** Update only these resources (a routing-only update). */
    targets?: string[];
    /** Put the config back when the stack is locked (default true; a rollback keeps its config). */
    restoreOnLock?: boolean;
    /** Preview with a saved plan, check it for this kind of step, and apply exactly that plan. */
    guard?: StepKind;
}

/** What every update of a release shares: its name in the stack's history, its policy packs, its output. */
export interface UpdateSettings {
    /** The release's version: each update's message is "release <version>: <what>". */
    version: string;
    policyPacks?: string[];
    policyPackConfigs?: string[];
    /** Engine output of each update (default: dropped). */
    onOutput?: (line: string) => void;
}

/** Where the store starts: the release as preflight left it. */
export interface StoreStart {
    /** The release as stack config holds it (the lease is this bot's). */
    view: ReleaseView;
    /** The stack's config values as read. */
    values: Record<string, string>;
    /** The protocol keys as deployed when preflight ran. */
    deployed: ConfigChanges;
}

/** The release state and lease of one run, and the only way they change. */
export class ReleaseStore {
    private current: ReleaseView;
    /** The raw values of stack config as this store knows them: what a put back restores. */
    private readonly values: ConfigChanges;
    private lastDeployed: ConfigChanges;

    constructor(
        private readonly stack: StackDriver,
        readonly lease: ReleaseLease,
        start: StoreStart,
        private readonly updates: UpdateSettings,
        /** With autoscaling: reads the stable's live replica count, pinned in every update while a canary runs. */
        private readonly stableReplicas?: () => Promise<number | undefined>,
    ) {
        this.current = start.view;
        this.values = { ...start.values };
        this.lastDeployed = { ...start.deployed };
    }

    /** The release as stack config holds it (updated when a transition is written). */
    get view(): ReleaseView {
        return this.current;
    }

    /** The protocol keys of the last update this store ran (or, before it, as deployed at preflight). */
    get deployed(): Readonly<ConfigChanges> {
        return this.lastDeployed;
    }

    /**
     * Compares the lease, writes the config of `to` (with the lease renewed), then runs `up`; with `guard`, first
     * previews with a saved plan, refuses changes the step may not make, and applies exactly that plan. When
     * nothing was applied (a lock, a refused plan), the config is put back where it is still what this store wrote
     * (`restoreOnLock`; a rollback keeps its config, so that any later `up` finishes it).
     */
    async write(to: ReleaseView, what: string, o: TransitionOptions = {}): Promise<UpSummary> {
        await this.lease.check(what);
        const from = this.current;
        const renewed = this.lease.renewedIn(await this.pinned(to));
        const changes = configChanges(from, renewed);
        const before: ConfigChanges = Object.fromEntries(Object.keys(changes).map((k) => [k, this.values[k]]));
        await this.setConfig(changes);
        this.current = renewed;
        const putBack = async () => {
            await restoreIfOurs(this.stack, before, changes);
            Object.assign(this.values, before);
            this.current = from;
        };
        const { version, ...common } = this.updates;
        const settings = { ...common, targets: o.targets };
        let plan: string | undefined;
        if (o.guard !== undefined) {
            const preview = await this.stack.preview({ ...settings, savePlan: true });
            const violations = planViolations(o.guard, preview.changes);
            if (violations.length > 0) {
                await putBack();
                throw new PlanGuardError(violations);
            }
            plan = preview.plan;
        }
        try {
            const summary = await this.stack.up({ ...settings, plan, message: `release ${version}: ${what}` });
            this.lastDeployed = Object.fromEntries(PROTOCOL_KEYS.map((k) => [k, this.values[k]]));
            return summary;
        } catch (e) {
            if ((e instanceof StackLockedError && (o.restoreOnLock ?? true)) || e instanceof PlanMismatchError) {
                await putBack();
            }
            throw e;
        }
    }

    /**
     * `to` with the stable's live replica count pinned (`releaseStableReplicas`) while a canary runs, and unpinned
     * once none does. A count that cannot be read keeps the last one: reading it never holds back an update (a
     * rollback least of all).
     */
    private async pinned(to: ReleaseView): Promise<ReleaseView> {
        if (this.stableReplicas === undefined) {
            return to;
        }
        const kept = to.state.stableReplicas;
        const now =
            to.canary === undefined
                ? undefined
                : await this.stableReplicas().then(
                      (n) => n ?? kept,
                      () => kept,
                  );
        return { ...to, state: { ...to.state, stableReplicas: now } };
    }

    /** Extends this bot's hold on the release (while it waits); throws when the lease was lost. */
    renewLease(): Promise<void> {
        return this.lease.renew();
    }

    /** Lets go of the lease, where it is still this bot's, so that another bot may resume. */
    letGo(): Promise<void> {
        return this.lease.letGo();
    }

    private async setConfig(changes: ConfigChanges): Promise<void> {
        await this.stack.setConfig(changes);
        Object.assign(this.values, changes);
    }
}

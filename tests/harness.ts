/**
 * Test harness for Pulumi mocks: records every registered resource and fails on any provider function call
 * (the program and components must not call any).
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { qualify } from "../config/namespace";

export type Recorded = pulumi.runtime.MockResourceArgs;

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when a recorded input is a Pulumi secret (the engine stores it encrypted). */
export function isSecretValue(value: unknown): boolean {
    return (
        typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
    );
}

/** The plain value of a recorded input, secret or not. */
export function plain<T>(value: unknown): T {
    return (isSecretValue(value) ? (value as { value: T }).value : value) as T;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: Recorded[] = [];

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        this.resources.push(args);
        return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs } };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        throw new Error(`unexpected provider function call ${args.token}`);
    }

    /** Custom resources only (components excluded). */
    custom(): Recorded[] {
        return this.resources.filter((r) => r.custom);
    }

    ofType(type: string): Recorded[] {
        return this.resources.filter((r) => r.type === type);
    }

    one(type: string, kindOrName?: string): Recorded {
        const found = this.ofType(type).filter(
            (r) => kindOrName === undefined || r.inputs.kind === kindOrName || r.name === kindOrName,
        );
        if (found.length !== 1) {
            throw new Error(`expected one ${type} ${kindOrName ?? ""}, found ${found.length}`);
        }
        return found[0];
    }
}

/** Resolves an Output's value in tests. */
export function value<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** Runs `body` under fresh mocks (or the given ones), waits for every registration and returns the recorder. */
export async function withMocks<M extends RecordingMocks = RecordingMocks>(
    body: () => void | Promise<void>,
    stack = "test",
    mocks: M = new RecordingMocks() as M,
): Promise<M> {
    await pulumi.runtime.setMocks(mocks, "istio-canary", stack, false);
    await body();
    await pulumi.runtime.disconnect();
    return mocks;
}

const PROGRAM = path.resolve(__dirname, "..", "index.ts");

/** What running the program produced. */
export interface ProgramRun {
    mocks: RecordingMocks;
    /** The program's stack exports, resolved (undefined when it threw). */
    exports?: Record<string, unknown>;
    error?: Error;
}

/**
 * Runs index.ts with `config` (keys without the `istio-canary:` namespace) under mocks. `secret` lists the keys
 * set with `--secret`. The program module is loaded fresh each time.
 */
export async function runProgram(
    config: Record<string, string>,
    secret: string[] = [],
    /** Stack transformations to register before the program runs (e.g. a {@link DependencyRecorder}'s). */
    transformations: pulumi.ResourceTransformation[] = [],
): Promise<ProgramRun> {
    const ns = qualify;
    let exportsOut: Record<string, unknown> | undefined;
    let error: Error | undefined;
    const mocks = await withMocks(async () => {
        pulumi.runtime.setAllConfig(
            Object.fromEntries(Object.entries(config).map(([k, v]) => [ns(k), v])),
            secret.map(ns),
        );
        delete require.cache[PROGRAM];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const load = () => require(PROGRAM) as Record<string, unknown>;
        try {
            // Stack transformations need the root stack resource, which only a program run in a stack has.
            const mod =
                transformations.length === 0
                    ? load()
                    : ((await pulumi.runtime.runInPulumiStack(() => {
                          transformations.forEach((t) => pulumi.runtime.registerStackTransformation(t));
                          return Promise.resolve(load());
                      })) as Record<string, unknown>);
            exportsOut = {};
            for (const [k, v] of Object.entries(mod)) {
                exportsOut[k] = pulumi.Output.isInstance(v) ? await value(v) : v;
            }
        } catch (e) {
            error = e as Error;
        }
    });
    return { mocks, exports: exportsOut, error };
}

/**
 * Records each resource's explicit `dependsOn`, by resource name, through a component's `transformations`
 * (children inherit them). Mocks do not see dependencies, so this is how tests check ordering.
 */
export class DependencyRecorder {
    private readonly deps = new Map<string, pulumi.Resource[]>();

    readonly transformation: pulumi.ResourceTransformation = (args) => {
        const d = args.opts.dependsOn;
        const list = d === undefined ? [] : Array.isArray(d) ? d : [d];
        this.deps.set(args.name, list as pulumi.Resource[]);
        return undefined;
    };

    /** Names of the resources `name` explicitly depends on, sorted. */
    async of(name: string): Promise<string[]> {
        const list = this.deps.get(name);
        if (list === undefined) {
            throw new Error(`no resource named ${name} was registered`);
        }
        const urns = await Promise.all(list.map((r) => value(r.urn)));
        return urns.map((u) => u.split("::").at(-1)!).sort();
    }
}

/**
 * Property tests that fuzz what the project reads from outside (config, flags, Prometheus's answers): every run
 * uses one seed, FUZZ_SEED from the environment (to replay a failure) or a fresh one, and a failure prints it with
 * fast-check's counterexample and the command that replays it.
 */
import * as fc from "fast-check";

export const FUZZ_SEED =
    process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** FUZZ_SCALE multiplies every property's runs (a deeper search than the unit suite's, e.g. FUZZ_SCALE=100). */
const SCALE = Number(process.env.FUZZ_SCALE ?? "1") || 1;

function report(out: fc.RunDetails<unknown>): void {
    if (out.failed) {
        throw new Error(`${fc.defaultReportMessage(out)}\nreplay with: FUZZ_SEED=${FUZZ_SEED} npm test`);
    }
}

/** Checks `property` over `numRuns` cases from this run's seed. */
export function fuzz<T>(property: fc.IProperty<[T]>, numRuns: number): void {
    report(fc.check(property, { numRuns: numRuns * SCALE, seed: FUZZ_SEED }) as fc.RunDetails<unknown>);
}

/** The same for an async property. */
export async function fuzzAsync<T>(property: fc.IAsyncProperty<[T]>, numRuns: number): Promise<void> {
    report((await fc.check(property, { numRuns: numRuns * SCALE, seed: FUZZ_SEED })) as fc.RunDetails<unknown>);
}

/** JSON values as JSON.parse makes them, with the field names a parser trips on ("__proto__", "toString", ...). */
export function parsedJson(names: string[] = [], leaves: fc.Arbitrary<unknown>[] = []): fc.Arbitrary<unknown> {
    const key = fc.oneof(
        fc.constantFrom(...names, "__proto__", "toString", "valueOf", "constructor", "length", "hasOwnProperty"),
        fc.string({ maxLength: 8 }),
    );
    const leaf = fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double(),
        fc.string({ maxLength: 12 }),
        ...leaves,
    );
    const { json } = fc.letrec((tie) => ({
        json: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("list"), tie("object")),
        list: fc.array(tie("json"), { maxLength: 4 }),
        object: fc.dictionary(key, tie("json"), { maxKeys: 5 }),
    }));
    // Through JSON text, as an answer or a config value is read: "__proto__" stays an own field.
    return json.map((v) => JSON.parse(JSON.stringify(v) ?? "null") as unknown);
}

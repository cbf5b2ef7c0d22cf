import * as assert from "assert";
import { END, renderConfigReference, START, withReference } from "../../config/reference";
import { KeySpec } from "../../config/reader";

const NO_MARKERS = { message: `README.md lacks the markers ${START} ... ${END}` };

describe("config reference", () => {
    it("escapes pipes in table cells and heads every group, the first one too", () => {
        const specs: KeySpec[] = [
            { key: "a", accepts: "x | y", default: undefined, doc: "A|B.", group: "First" },
            { key: "b", accepts: "z", default: "none", doc: "C.", group: "Other", secret: true },
            { key: "c", accepts: "w", default: "3", doc: "D.", group: "Other" },
        ];
        assert.strictEqual(
            renderConfigReference(specs),
            [
                "#### First",
                "",
                "| key | accepts | default | what it does |",
                "| --- | --- | --- | --- |",
                "| `a` | x \\| y | **required** | A\\|B. |",
                "",
                "#### Other",
                "",
                "| key | accepts | default | what it does |",
                "| --- | --- | --- | --- |",
                "| `b` (secret) | z | unset | C. |",
                "| `c` | w | `3` | D. |",
            ].join("\n"),
        );
    });

    it("puts the reference between the markers, also at the very start and with nothing between them", () => {
        const out = withReference(`${START}\nold\n${END}\nrest`);
        assert.strictEqual(out, `${START}\n\n${renderConfigReference()}\n\n${END}\nrest`);
        assert.strictEqual(
            withReference(`# A\n${START}${END}`),
            `# A\n${START}\n\n${renderConfigReference()}\n\n${END}`,
        );
    });

    it("refuses a README without both markers in order", () => {
        assert.throws(() => withReference("# no markers"), NO_MARKERS);
        assert.throws(() => withReference(`${START} only`), NO_MARKERS);
        assert.throws(() => withReference(`${END} before ${START}`), NO_MARKERS);
        assert.throws(() => withReference(`${END}${START}`), NO_MARKERS);
        assert.throws(() => withReference(`${"a long README without the start marker ".repeat(3)}${END}`), NO_MARKERS);
    });
});

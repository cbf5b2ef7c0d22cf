import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import {
    eventsOf,
    outputsOnce,
    PulumiCliError,
    summaryChangesOf,
    upArgs,
    upOnce,
} from "../../../stacks/automation/cli-run";
import { writeStackConfig } from "../../../stacks/automation/local-stack";

/**
 * A stand-in `pulumi` that records each call's arguments (one line each) and answers as the test says: it writes
 * the events of $FAKE_EVENTS to the file after --event-log, prints $FAKE_STDOUT, and fails with $FAKE_STDERR when set.
 */
const FAKE_CLI = `#!/usr/bin/env bash
echo "$*" >> "$FAKE_CALLS"
if [[ $1 == version ]]; then echo v3.248.0; exit 0; fi
prev=""
for a in "$@"; do
  if [[ $prev == --event-log ]]; then printf '%s' "$FAKE_EVENTS" > "$a"; fi
  prev="$a"
done
printf '%s' "$FAKE_STDOUT"
if [[ -n "$FAKE_STDERR" ]]; then printf '%s' "$FAKE_STDERR" >&2; exit 255; fi
`;

describe("the bot's stack operations, one Pulumi CLI call each", () => {
    let root: string;
    let calls: string;
    let stack: Stack;
    const env = (over: Record<string, string>) =>
        Object.assign(process.env, { FAKE_EVENTS: "", FAKE_STDOUT: "", FAKE_STDERR: "", ...over });
    const callsAfterSelect = () =>
        fs
            .readFileSync(calls, "utf8")
            .trim()
            .split("\n")
            .filter((l) => !/^(version|stack select)/.test(l));

    before(async () => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
        fs.mkdirSync(path.join(root, "bin"));
        fs.writeFileSync(path.join(root, "bin", "pulumi"), FAKE_CLI, { mode: 0o755 });
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: fake\nruntime: nodejs\n");
        calls = path.join(root, "calls");
        env({ FAKE_CALLS: calls });
        const pulumiCommand = await PulumiCommand.get({ root, skipVersionCheck: true });
        const ws = await LocalWorkspace.create({ workDir: root, pulumiCommand });
        stack = await Stack.select("dev", ws);
    });
    beforeEach(() => fs.writeFileSync(calls, ""));
    after(() => {
        fs.rmSync(root, { recursive: true, force: true });
        for (const k of ["FAKE_CALLS", "FAKE_EVENTS", "FAKE_STDOUT", "FAKE_STDERR"]) {
            delete process.env[k];
        }
    });

    it("upArgs: every option in a fixed order, the event log and the automation exec kind last", () => {
        assert.deepStrictEqual(
            upArgs(
                {
                    message: "release v2: weight 50",
                    targets: ["urn:a", "urn:b"],
                    policyPacks: ["/p1"],
                    policyPackConfigs: ["/c1"],
                    plan: "/tmp/plan.json",
                    refresh: true,
                },
                "/tmp/ev",
            ),
            [
                "up",
                "--yes",
                "--skip-preview",
                "--refresh",
                "--message",
                "release v2: weight 50",
                "--target",
                "urn:a",
                "--target",
                "urn:b",
                "--policy-pack",
                "/p1",
                "--policy-pack-config",
                "/c1",
                "--plan",
                "/tmp/plan.json",
                "--exec-kind",
                "auto.local",
                "--event-log",
                "/tmp/ev",
            ],
        );
        assert.deepStrictEqual(upArgs({}, "/e"), [
            "up",
            "--yes",
            "--skip-preview",
            "--exec-kind",
            "auto.local",
            "--event-log",
            "/e",
        ]);
    });

    it("eventsOf skips blank lines and a last line cut short; summaryChangesOf reads the summary event", () => {
        const events = eventsOf(
            '{"sequence":1,"cancelEvent":{}}\n\n{"sequence":2,"summaryEvent":{"resourceChanges":{"update":1,"same":9}}}\n{"seq',
        );
        assert.strictEqual(events.length, 2);
        assert.deepStrictEqual(summaryChangesOf(events), { update: 1, same: 9 });
        assert.strictEqual(summaryChangesOf(events.slice(0, 1)), undefined);
    });

    it("upOnce runs `pulumi up` once (no `stack output`, no `stack history`) and returns the summary's changes", async () => {
        env({
            FAKE_EVENTS:
                '{"sequence":1,"policyEvent":{"policyName":"p"}}\n{"sequence":2,"summaryEvent":{"resourceChanges":{"update":1}}}\n',
        });
        const seen: unknown[] = [];
        const changes = await upOnce(stack, { message: "m", onEvent: (e) => seen.push(e.sequence) });
        assert.deepStrictEqual(changes, { update: 1 });
        assert.deepStrictEqual(seen, [1, 2]);
        const lines = callsAfterSelect();
        assert.strictEqual(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^up --yes --skip-preview --message m --exec-kind auto\.local --event-log \S+ --stack dev --non-interactive$/,
        );
    });

    it("upOnce: a failed update throws PulumiCliError with the CLI's words, `locked` for a held lock, after its events", async () => {
        env({
            FAKE_EVENTS: '{"sequence":1,"policyEvent":{"policyName":"p"}}\n',
            FAKE_STDERR:
                "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end\n",
        });
        const seen: unknown[] = [];
        await assert.rejects(upOnce(stack, { onEvent: (e) => seen.push(e.sequence) }), (e: unknown) => {
            assert.ok(e instanceof PulumiCliError);
            assert.strictEqual(e.locked, true);
            assert.match(e.message, /currently locked by 1 lock/);
            return true;
        });
        assert.deepStrictEqual(seen, [1]);
        env({ FAKE_STDERR: "error: resource violates plan: properties changed\n" });
        await assert.rejects(
            upOnce(stack, {}),
            (e: unknown) => e instanceof PulumiCliError && !e.locked && /violates plan/.test(e.message),
        );
    });

    it("outputsOnce reads the outputs, secrets shown, with one `stack output` call", async () => {
        env({ FAKE_STDOUT: '{"weight":50,"token":"s3cret"}' });
        assert.deepStrictEqual(await outputsOnce(stack), { weight: 50, token: "s3cret" });
        assert.deepStrictEqual(callsAfterSelect(), [
            "stack output --json --show-secrets --stack dev --non-interactive",
        ]);
    });

    it("writeStackConfig sets and removes in two calls, without reading the config first", async () => {
        await writeStackConfig(stack, { canaryWeight: "50", releaseOwner: undefined, tlsKey: "k" }, ["tlsKey"]);
        assert.deepStrictEqual(callsAfterSelect(), [
            "config set-all --stack dev --plaintext istio-canary:canaryWeight=50 --secret istio-canary:tlsKey=k --non-interactive",
            "config rm-all --stack dev istio-canary:releaseOwner --non-interactive",
        ]);
    });
});

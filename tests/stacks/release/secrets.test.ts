import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PrometheusClient } from "../../../stacks/release/prometheus";
import { renderMarkdown, writeReport } from "../../../stacks/release/report";
import { FakeStack, health } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

const TOKENS = ["T0KEN-in-path-abcdef", "T0KEN-in-query", "L0AD-token-xyz"];

describe("release bot: secrets never shown (log, report, releaseMessage)", function () {
    this.timeout(30000);
    const b = releaseBench();

    it("a token in prometheusUrl's path or query, or in releaseLoadUrl, never shows in the log, the report or releaseMessage", async () => {
        const promUrl = `${b.url}/T0KEN-in-path-abcdef/?token=T0KEN-in-query`;
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(
            stackConfig({
                prometheusUrl: promUrl,
                releaseErrorLimit: "1",
                releaseLoadUrl: `${b.url}/load?key=L0AD-token-xyz`,
                releaseLoadMaxRequests: "2",
            }),
        );
        b.clock.onSleep = () => {
            if (stack.config.canaryWeight === "25") {
                b.prom.down = true;
            }
        };
        const r = await b.run(stack, undefined, { metrics: new PrometheusClient({ url: promUrl, timeoutMs: 2000 }) });
        assert.strictEqual(r.outcome, "rolled-back");
        assert.match(stack.config.releaseMessage, /Prometheus unreachable at http:\/\/127\.0\.0\.1:\d+: /);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-"));
        const files = writeReport(r, dir);
        const everything = [
            b.lines.join("\n"),
            JSON.stringify(r),
            renderMarkdown(r, "chart.svg"),
            stack.config.releaseMessage,
            ...Object.values(files).map((f) => fs.readFileSync(f, "utf8")),
        ].join("\n");
        fs.rmSync(dir, { recursive: true });
        for (const token of TOKENS) {
            assert.ok(!everything.includes(token), `${token} leaked`);
        }
        assert.strictEqual(r.policy.prometheusUrl, b.url);
        assert.strictEqual(r.policy.loadUrl, b.url);
    });

    it("what Prometheus answers is quoted without the bot's credentials", async () => {
        b.prom.answer = () => ({ httpError: 400, message: "bad query from Bearer s3cret-t0ken-value\nat line 1" });
        const client = new PrometheusClient({ url: b.url, timeoutMs: 2000, token: "s3cret-t0ken-value" });
        assert.deepStrictEqual(await client.query("sum(up)"), {
            kind: "error",
            reason: "Prometheus answered HTTP 400: bad query from Bearer *** at line 1",
        });
    });
});

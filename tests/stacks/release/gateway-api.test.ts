/**
 * The release bot on a stack routed with the Gateway API (`routingApi: gateway-api`): it shifts, guards, checks
 * drift, completes and rolls back through both routes (external and mesh), which move together.
 */
import * as assert from "assert";
import { routingUrnsOf } from "../../../stacks/automation/driver";
import { GRPC_ROUTE, HTTP_ROUTE, planViolations } from "../../../stacks/release/guard";
import { fakeRouting, FakeRouting, FakeStack, health } from "../fakes";
import { releaseBench, stackConfig } from "./bench";

describe("release bot: the Gateway API routing mode (fake stack and routing)", function () {
    this.timeout(20000);
    const b = releaseBench();
    const grpc = () => stackConfig({ routingApi: "gateway-api", protocol: "grpc", mirrorPercent: "5" });
    const { routes, rules } = fakeRouting(grpc());
    const routeUrns = routes.map((r) => r.urn);

    it("a healthy release completes: each stage previews both routes' update (allowed), drift checks both routes and both tracks' DestinationRules, traffic goes to stable by a targeted update of both", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(grpc());
        const routing = new FakeRouting(stack);
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "completed", result.reason);
        // Every stage's preview updated both GRPCRoutes (the fake's plan): an older guard refused them and paused.
        assert.deepStrictEqual(stack.weights(), [0, 10, 25, 50, 100, 100, 0, 0]);
        assert.deepStrictEqual(stack.driftTargets.at(-1), [...routeUrns, ...rules.map((r) => r.urn)]);
        const toStable = stack.ups.find((u) => u.message?.endsWith("complete: traffic to stable"));
        assert.deepStrictEqual(toStable?.targets, routeUrns);
        assert.deepStrictEqual(routing.calls, [
            "release GRPCRoute prod/shop after 0 ups",
            "release GRPCRoute prod/shop-mesh after 0 ups",
        ]);
    });

    it("a failing release: both routes are patched to stable at once, recorded by a targeted update of both, then handed back", async () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(grpc());
        const routing = new FakeRouting(stack);
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.deepStrictEqual(routing.calls.slice(2), [
            "patch GRPCRoute prod/shop mirror=5 after 2 ups",
            "patch GRPCRoute prod/shop-mesh mirror=5 after 2 ups",
            "release GRPCRoute prod/shop after 3 ups",
            "release GRPCRoute prod/shop-mesh after 3 ups",
        ]);
        assert.deepStrictEqual(stack.ups[2].targets, routeUrns);
        assert.strictEqual(stack.ups[2].config.releaseStatus, "rolling-back");
        const rollback = result.events.filter((e) => e.kind === "rollback");
        assert.match(
            rollback[1].message,
            /^traffic back on stable \d+\.\d{3} s after the decision \(time to stable; direct patch of GRPCRoutes prod\/shop and prod\/shop-mesh\)$/,
        );
        assert.match(
            rollback[2].message,
            /^routing recorded in the stack \(targeted update of the GRPCRoutes shop-route and shop-mesh-route\)/,
        );
    });

    it("one route's patch fails: said with its name, the update moves both, the one patched is handed back", async () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(grpc());
        const routing = new FakeRouting(stack);
        routing.fail = (t) => (t.name === "shop-mesh" ? new Error("connect ECONNREFUSED 127.0.0.1:6443") : undefined);
        const result = await b.run(stack, undefined, { routing });
        assert.strictEqual(result.outcome, "rolled-back");
        assert.ok(
            result.events.some(
                (e) =>
                    e.kind === "error" &&
                    e.message ===
                        "direct routing patch failed; rolling back by update instead: GRPCRoute prod/shop-mesh: connect ECONNREFUSED 127.0.0.1:6443",
            ),
            JSON.stringify(result.events),
        );
        assert.deepStrictEqual(stack.ups[2].targets, routeUrns, "the targeted update moves both routes");
        assert.ok(
            result.events.some((e) =>
                /^traffic back on stable .* \(time to stable; targeted update of the GRPCRoutes shop-route and shop-mesh-route\)$/.test(
                    e.message,
                ),
            ),
            "time to stable is the update's, not the half patch's",
        );
        assert.deepStrictEqual(routing.calls.slice(4), ["release GRPCRoute prod/shop after 3 ups"]);
    });

    it("a rollback that cannot be recorded gives the commands with both routes as targets", async () => {
        b.prom.answer = health(50, 10);
        const stack = new FakeStack(grpc());
        stack.failUp = (c) => (c.releaseStatus === "rolling-back" ? new Error("connection refused") : undefined);
        const result = await b.run(stack, undefined, { routing: new FakeRouting(stack) });
        assert.strictEqual(result.outcome, "rollback-failed");
        assert.ok(
            result.manualSteps?.includes(
                `pulumi up --stack dev --yes --target '${routeUrns[0]}' --target '${routeUrns[1]}'`,
            ),
            result.manualSteps?.join("\n"),
        );
    });

    it("a kubectl edit of the mesh route (drift) stops the release before the next stage", async () => {
        b.prom.answer = health(100, 10);
        const stack = new FakeStack(grpc());
        b.clock.onSleep = () => {
            if (stack.config.canaryWeight === "25") {
                stack.drifted = [{ ...routes[1], paths: ["spec.rules"] }];
            }
        };
        const result = await b.run(stack);
        assert.strictEqual(result.outcome, "paused");
        assert.match(
            result.reason,
            /^the live routing objects differ from the stack's state: update GRPCRoute shop-mesh-route \(spec\.rules\)/,
        );
        assert.deepStrictEqual(stack.weights(), [0, 10, 25]);
    });

    it("refuses a fractional mirror phase before anything moves (a RequestMirror's percent is an integer)", async () => {
        const stack = new FakeStack(stackConfig({ routingApi: "gateway-api", releaseMirrorPercent: "0.5" }));
        await assert.rejects(b.run(stack), {
            name: "PreflightError",
            message:
                'releaseMirrorPercent must be a whole percentage with routingApi "gateway-api" (a RequestMirror\'s percent is an integer); got 0.5',
        });
        assert.deepStrictEqual(stack.ups, []);
    });

    it("a stack last deployed by an older version: its VirtualService with its DestinationRule; a lone route is no target", () => {
        const vs =
            "urn:pulumi:dev::istio-canary::istio-canary:index:CanaryRelease$kubernetes:networking.istio.io/v1:VirtualService::shop-vs";
        assert.deepStrictEqual(routingUrnsOf({ routingUrn: vs }), {
            routes: [vs],
            watched: [vs, vs.replace("VirtualService::shop-vs", "DestinationRule::shop-dr")],
        });
        // Without the mesh route a targeted update would move one route of two: full updates instead.
        assert.strictEqual(routingUrnsOf({ routingUrn: routes[0].urn }), undefined);
        assert.strictEqual(routingUrnsOf({}), undefined);
        assert.deepStrictEqual(routingUrnsOf({ routingUrn: routes[0].urn, routeUrns: routeUrns, routingUrns: [] }), {
            routes: routeUrns,
            watched: routeUrns,
        });
    });

    it("the plan guard lets a stage change the routes of either kind, and nothing else of them", () => {
        for (const type of [HTTP_ROUTE, GRPC_ROUTE]) {
            const update = { urn: `urn:x::${type}::shop-route`, type, op: "update", paths: ["spec.rules"] };
            assert.deepStrictEqual(planViolations("stage", [update]), []);
            assert.deepStrictEqual(planViolations("stage", [{ ...update, op: "replace" }]), [
                `replace ${type.split(":").at(-1)} shop-route (spec.rules)`,
            ]);
            assert.deepStrictEqual(planViolations("start", [{ ...update, op: "delete", paths: [] }]), [
                `delete ${type.split(":").at(-1)} shop-route`,
            ]);
        }
    });
});

/**
 * The local cluster as the demo, the benchmarks and the end-to-end tests see it: kubectl and the live routes.
 */
import { execFileSync } from "child_process";

/** Runs kubectl (KUBECTL, else kubectl on PATH); returns stdout. */
export function kubectl(args: string[]): string {
    return execFileSync(process.env.KUBECTL ?? "kubectl", args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** The live VirtualService's HTTP routes, one line each: "name: stable 90 / canary 10". */
export function describeLiveRoutes(namespace: string, name: string): string[] {
    const vs = JSON.parse(
        kubectl(["get", "virtualservices.networking.istio.io", "-n", namespace, name, "-o", "json"]),
    ) as {
        spec: {
            http: {
                name: string;
                route: { destination: { subset: string }; weight: number }[];
                mirrorPercentage?: { value: number };
            }[];
        };
    };
    return vs.spec.http.map(
        (h) =>
            `${h.name}: ${h.route.map((d) => `${d.destination.subset} ${d.weight}`).join(" / ")}` +
            (h.mirrorPercentage ? ` (mirror ${h.mirrorPercentage.value}% to canary)` : ""),
    );
}

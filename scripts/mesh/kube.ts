/**
 * A small Kubernetes API client for the mesh tooling: list and watch over HTTPS with the kubeconfig's embedded
 * client certificate (the local cluster's kubeconfig is self-contained). Asynchronous, so a test that serves
 * metrics from its own process never blocks its event loop.
 */
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";

interface KubeConfigFile {
    "current-context"?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
    users: { name: string; user: { "client-certificate-data"?: string; "client-key-data"?: string } }[];
}

export interface WatchEvent<T> {
    type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
    object: T;
}

export class KubeClient {
    private readonly agent: https.Agent;
    private readonly server: URL;

    constructor(kubeconfigPath: string = requiredEnv("KUBECONFIG")) {
        const kc = yaml.load(fs.readFileSync(kubeconfigPath, "utf8")) as KubeConfigFile;
        const ctx = kc.contexts?.find((c) => c.name === kc["current-context"])?.context;
        const cluster = (kc.clusters.find((c) => c.name === ctx?.cluster) ?? kc.clusters[0]).cluster;
        const user = (kc.users.find((u) => u.name === ctx?.user) ?? kc.users[0]).user;
        const b64 = (s: string | undefined, what: string) => {
            if (!s) {
                throw new Error(
                    `${kubeconfigPath}: no ${what} (the mesh tooling needs an embedded client certificate)`,
                );
            }
            return Buffer.from(s, "base64");
        };
        this.server = new URL(cluster.server);
        const host = this.server.hostname;
        if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
            throw new Error(`${kubeconfigPath}: API server ${cluster.server} is not on loopback; refusing`);
        }
        this.agent = new https.Agent({
            ca: b64(cluster["certificate-authority-data"], "certificate-authority-data"),
            cert: b64(user["client-certificate-data"], "client-certificate-data"),
            key: b64(user["client-key-data"], "client-key-data"),
            keepAlive: true,
        });
    }

    /** GET `path` as JSON. */
    get<T>(path: string): Promise<T> {
        return new Promise((resolve, reject) => {
            const req = https.get(new URL(path, this.server), { agent: this.agent }, (res) => {
                let body = "";
                res.on("data", (c: Buffer) => (body += c.toString()));
                res.on("end", () => {
                    if ((res.statusCode ?? 0) >= 300) {
                        reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
                    } else {
                        resolve(JSON.parse(body) as T);
                    }
                });
            });
            req.on("error", reject);
        });
    }

    /**
     * Watches a collection (`/api/v1/namespaces/ns/pods?labelSelector=...`): lists it first (each item ADDED),
     * then streams changes; re-lists after the stream ends. Returns a function that stops the watch.
     */
    watch<T extends { metadata: { resourceVersion?: string } }>(
        path: string,
        onEvent: (e: WatchEvent<T>) => void,
        onError: (e: Error) => void = () => undefined,
    ): () => void {
        let stopped = false;
        let current: ReturnType<typeof https.get> | undefined;
        const sep = path.includes("?") ? "&" : "?";
        const loop = async () => {
            while (!stopped) {
                try {
                    const list = await this.get<{ metadata: { resourceVersion: string }; items: T[] }>(path);
                    for (const item of list.items) {
                        onEvent({ type: "ADDED", object: item });
                    }
                    await new Promise<void>((resolve, reject) => {
                        const url = new URL(
                            `${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
                            this.server,
                        );
                        current = https.get(url, { agent: this.agent }, (res) => {
                            if (res.statusCode !== 200) {
                                res.resume();
                                reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
                                return;
                            }
                            let buf = "";
                            res.on("data", (c: Buffer) => {
                                buf += c.toString();
                                let nl: number;
                                while ((nl = buf.indexOf("\n")) >= 0) {
                                    const line = buf.slice(0, nl).trim();
                                    buf = buf.slice(nl + 1);
                                    if (line !== "") {
                                        const ev = JSON.parse(line) as WatchEvent<T>;
                                        if (ev.type === "ERROR") {
                                            res.destroy();
                                            resolve();
                                            return;
                                        }
                                        if (ev.type !== "BOOKMARK") {
                                            onEvent(ev);
                                        }
                                    }
                                }
                            });
                            res.on("end", resolve);
                            res.on("error", resolve);
                        });
                        current.on("error", (e) => (stopped ? resolve() : reject(e)));
                    });
                } catch (e) {
                    if (!stopped) {
                        onError(e instanceof Error ? e : new Error(String(e)));
                        await new Promise((r) => setTimeout(r, 500));
                    }
                }
            }
        };
        void loop();
        return () => {
            stopped = true;
            current?.destroy();
        };
    }

    close(): void {
        this.agent.destroy();
    }
}

export function requiredEnv(name: string, hint = "run it through scripts/with-cluster.sh or npm run test:e2e"): string {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set: ${hint}`);
    }
    return v;
}

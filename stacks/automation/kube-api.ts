/**
 * The Kubernetes API from Node.js with what a kubeconfig says (server, CA, client certificate or token): one
 * HTTPS request per call over a kept-alive connection, no kubectl process and no client library (a request
 * takes milliseconds; `kubectl patch` 0.05 s, mostly its start-up). The kubeconfig is the one the Kubernetes
 * provider uses by default: KUBECONFIG (its first file that names a current context) or ~/.kube/config.
 * Exec plugins and auth providers are not supported: callers fall back to `pulumi up`.
 */
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";

type Entry = Record<string, unknown>;

interface KubeconfigDoc {
    "current-context"?: string;
    clusters?: { name: string; cluster?: Entry }[];
    users?: { name: string; user?: Entry }[];
    contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
}

/** A Kubernetes API answer that is not a success. */
export class KubeApiError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
        this.name = "KubeApiError";
    }
}

/** Where and how to reach the API server. */
export interface KubeAccess {
    server: string;
    tls: https.AgentOptions;
    headers: Record<string, string>;
}

function fileOrData(entry: Entry, key: string, dir: string): Buffer | undefined {
    const data = entry[`${key}-data`];
    if (typeof data === "string") {
        return Buffer.from(data, "base64");
    }
    const file = entry[key];
    return typeof file === "string" ? fs.readFileSync(path.resolve(dir, file)) : undefined;
}

function parseKubeconfig(text: string): KubeconfigDoc {
    const doc = yaml.load(text);
    return typeof doc === "object" && doc !== null ? doc : {};
}

/**
 * Which cluster a stack's Kubernetes provider talks to, from the stack's config: `kubernetes:kubeconfig` (a path,
 * relative to the project directory, or the kubeconfig itself, as the provider takes it) and `kubernetes:context`.
 * Neither set: the ambient kubeconfig (KUBECONFIG, else ~/.kube/config), as the provider does.
 */
export interface KubeTarget {
    kubeconfig?: string;
    context?: string;
}

/** The stack config keys of a {@link KubeTarget}. */
export const KUBE_TARGET_KEYS = { kubeconfig: "kubernetes:kubeconfig", context: "kubernetes:context" } as const;

/** A stack's {@link KubeTarget} from its config values (fully qualified keys); empty values count as unset. */
export function kubeTargetOf(config: Record<string, string | undefined>): KubeTarget {
    const kubeconfig = config[KUBE_TARGET_KEYS.kubeconfig] || undefined;
    const context = config[KUBE_TARGET_KEYS.context] || undefined;
    return { ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) };
}

/** Whether a `kubernetes:kubeconfig` value is the kubeconfig itself (YAML or JSON) rather than a path to one. */
function isInlineKubeconfig(value: string): boolean {
    return /[\n{]/.test(value) || /^\s*apiVersion:/.test(value);
}

/** Server, TLS material and auth header of the cluster a {@link KubeTarget} names; paths resolve from `baseDir`. */
export function kubeAccessOf(target: KubeTarget, baseDir: string, env: NodeJS.ProcessEnv = process.env): KubeAccess {
    const k = target.kubeconfig;
    if (k === undefined) {
        return kubeAccess(kubeconfigFiles(env), target.context);
    }
    if (isInlineKubeconfig(k)) {
        return accessFrom(
            [{ dir: baseDir, doc: parseKubeconfig(k) }],
            "the stack's kubernetes:kubeconfig",
            target.context,
        );
    }
    const file = k.startsWith("~/") ? path.join(os.homedir(), k.slice(2)) : path.resolve(baseDir, k);
    if (!fs.existsSync(file)) {
        throw new Error(`the stack's kubernetes:kubeconfig names ${file}, which does not exist`);
    }
    return kubeAccess([file], target.context);
}

/** The kubeconfig files to read, in order. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
    const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
    return list.length > 0 ? list : [path.join(os.homedir(), ".kube", "config")];
}

/** Server, TLS material and auth header of the current (or given) context of a kubeconfig. */
export function kubeAccess(files = kubeconfigFiles(), contextName?: string): KubeAccess {
    const docs = files
        .filter((f) => fs.existsSync(f))
        .map((f) => ({ dir: path.dirname(f), doc: parseKubeconfig(fs.readFileSync(f, "utf8")) }));
    return accessFrom(docs, `kubeconfig (${files.join(", ")})`, contextName);
}

/** {@link kubeAccess} over parsed kubeconfigs (`dir`: where their relative paths start); `what` names them. */
function accessFrom(docs: { dir: string; doc: KubeconfigDoc }[], what: string, contextName?: string): KubeAccess {
    /** The first entry of that name in any file, with the file's directory (relative paths start there). */
    const find = <T>(pick: (doc: KubeconfigDoc) => { name: string; value?: T }[] | undefined, name?: string) => {
        for (const { dir, doc } of docs) {
            const hit = pick(doc)?.find((e) => e.name === name);
            if (hit?.value !== undefined) {
                return { dir, value: hit.value };
            }
        }
        return undefined;
    };
    const current = contextName ?? docs.map((d) => d.doc["current-context"]).find((c) => c);
    const context = find((d) => d.contexts?.map((e) => ({ name: e.name, value: e.context })), current)?.value;
    if (!context) {
        throw new Error(`${what} has no context ${current ?? "(none set)"}`);
    }
    const cluster = find((d) => d.clusters?.map((e) => ({ name: e.name, value: e.cluster })), context.cluster);
    const user = find((d) => d.users?.map((e) => ({ name: e.name, value: e.user })), context.user);
    const server = cluster?.value.server;
    if (!cluster || typeof server !== "string") {
        throw new Error(`kubeconfig context ${current} names no cluster with a server`);
    }
    const c = cluster.value;
    const u = user?.value ?? {};
    if (u.exec !== undefined || u["auth-provider"] !== undefined) {
        throw new Error(`kubeconfig user ${context.user} authenticates with a plugin, which this client does not run`);
    }
    const userDir = user?.dir ?? cluster.dir;
    const token =
        typeof u.token === "string"
            ? u.token
            : typeof u.tokenFile === "string"
              ? fs.readFileSync(path.resolve(userDir, u.tokenFile), "utf8").trim()
              : undefined;
    const headers: Record<string, string> = {};
    if (token !== undefined) {
        headers.authorization = `Bearer ${token}`;
    } else if (typeof u.username === "string" && typeof u.password === "string") {
        headers.authorization = `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}`;
    }
    return {
        server: server.replace(/\/$/, ""),
        headers,
        tls: {
            ca: fileOrData(c, "certificate-authority", cluster.dir),
            cert: fileOrData(u, "client-certificate", userDir),
            key: fileOrData(u, "client-key", userDir),
            rejectUnauthorized: c["insecure-skip-tls-verify"] !== true,
            servername: typeof c["tls-server-name"] === "string" ? c["tls-server-name"] : undefined,
        },
    };
}

/** A JSON client of one API server. */
export class KubeApi {
    private readonly agent: https.Agent;

    constructor(private readonly access: KubeAccess) {
        this.agent = new https.Agent({ ...access.tls, keepAlive: true, maxSockets: 4 });
    }

    /** From the kubeconfig the Kubernetes provider would use. */
    static fromKubeconfig(files?: string[], context?: string): KubeApi {
        return new KubeApi(kubeAccess(files, context));
    }

    /** The cluster of a stack's Kubernetes provider ({@link KubeTarget}; paths resolve from `baseDir`). */
    static of(target: KubeTarget, baseDir: string): KubeApi {
        return new KubeApi(kubeAccessOf(target, baseDir));
    }

    /** Sends one request; resolves with the JSON answer, rejects with a {@link KubeApiError} on a non-2xx status. */
    request<T>(method: string, apiPath: string, body?: unknown, contentType = "application/json"): Promise<T> {
        const url = new URL(this.access.server + apiPath);
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise<T>((resolve, reject) => {
            const req = https.request(
                url,
                {
                    method,
                    agent: this.agent,
                    timeout: 10000,
                    headers: {
                        ...this.access.headers,
                        accept: "application/json",
                        ...(payload !== undefined
                            ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) }
                            : {}),
                    },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        const status = res.statusCode ?? 0;
                        // Not every answer is JSON: a path the server does not serve is "404 page not found"
                        // in plain text, a proxy's error a page; the text then stands for itself.
                        let body: unknown;
                        try {
                            body = JSON.parse(text);
                        } catch {
                            body = undefined;
                        }
                        if (status < 200 || status >= 300) {
                            const message = (body as { message?: string } | undefined)?.message ?? text.trim();
                            reject(new KubeApiError(status, `${method} ${apiPath}: ${status} ${message}`));
                            return;
                        }
                        if (body === undefined) {
                            reject(
                                new KubeApiError(
                                    status,
                                    `${method} ${apiPath}: ${status}, not JSON: ${text.slice(0, 200)}`,
                                ),
                            );
                            return;
                        }
                        resolve(body as T);
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer in 10 s`)));
            req.on("error", reject);
            req.end(payload);
        });
    }

    /** GETs one object; resolves with undefined when there is none (404). */
    async find<T>(apiPath: string): Promise<T | undefined> {
        try {
            return await this.request<T>("GET", apiPath);
        } catch (e) {
            if (e instanceof KubeApiError && e.status === 404) {
                return undefined;
            }
            throw e;
        }
    }

    /** Closes kept-alive connections (a process exits without waiting for them). */
    close(): void {
        this.agent.destroy();
    }
}

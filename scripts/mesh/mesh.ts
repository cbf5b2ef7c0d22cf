/**
 * The test mesh: real requests routed by istiod, counted per track.
 *
 *  - A network namespace made here ({@link MeshNetns}) holds the app's pod IPs (kwok assigns them from
 *    10.244.0.0/16) on its own `lo`; nothing sent to a pod IP leaves it.
 *  - One backend process per pod ({@link BackendConfig}), started and stopped as the pods come and go (a watch on
 *    the API server), listening on the pod's IP and container port with mutual TLS (a certificate for the pod's
 *    service account, signed by istiod's CA), answering its track and version, recording Istio's standard
 *    server-side metrics.
 *  - A proxyless gRPC client process ({@link MeshClient}) in the same namespace, routed by istiod over xDS (its
 *    plaintext xDS port through the Unix socket $ISTIOD_XDS_SOCKET).
 *  - A metrics endpoint on 127.0.0.1 in the test's own namespace ({@link Mesh.startMetricsExporter}) that serves
 *    every backend's metrics, each series labelled with its pod, for Prometheus to scrape.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import type { BackendConfig } from "./backend";
import { issueWorkloadCert, spiffeId, istioCaDir } from "./certs";
import type { ClientConfig } from "./client";
import { KubeClient, requiredEnv } from "./kube";
import { MeshClient } from "./mesh-client";
import { MeshNetns } from "./netns";
import { compileRuntime, socketRequest, waitReady } from "./process";
import { Behaviour, HEALTHY } from "./protocol";

export type { BatchResult, LoadEvent } from "./client";
export type { Behaviour } from "./protocol";
export { MeshClient, share } from "./mesh-client";

/** The address the client's sidecar node id names (outside kwok's pod range in practice; never dialled). */
const CLIENT_NODE_IP = "10.244.255.254";

interface PodObject {
    metadata: {
        name: string;
        namespace: string;
        uid: string;
        resourceVersion?: string;
        labels?: Record<string, string>;
        ownerReferences?: { kind: string; name: string }[];
        deletionTimestamp?: string;
    };
    spec: { serviceAccountName?: string };
    status: { phase?: string; podIP?: string };
}

/** One pod's backend as the mesh runs it. */
export interface BackendInfo {
    pod: string;
    uid: string;
    ip: string;
    workload: string;
    track: string;
    version: string;
}

interface RunningBackend extends BackendInfo {
    proc: ChildProcess;
    controlSocket: string;
    exited: Promise<void>;
}

export interface MeshOptions {
    /** Namespace of the app's pods. */
    namespace: string;
    /** The app name (pods labelled app=<app>, Service <app>). */
    app: string;
    /** Port of the Service (the client dials xds:///<app>.<namespace>.svc.cluster.local:<servicePort>). */
    servicePort: number;
    /** Port the pods' container listens on (the backends listen there on their pod IP). */
    containerPort: number;
    /** A short label for the network namespace's name. */
    label?: string;
}

export class Mesh {
    private readonly backends = new Map<string, RunningBackend>();
    private readonly behaviours = new Map<string, Behaviour>();
    private readonly clients: MeshClient[] = [];
    private queue: Promise<void> = Promise.resolve();
    private stopWatch: () => void = () => undefined;
    private exporter?: http.Server;
    private readonly kube = new KubeClient();
    /** Problems starting backends (a test asserts there are none). */
    readonly errors: string[] = [];

    private constructor(
        readonly opts: MeshOptions,
        readonly netns: MeshNetns,
        readonly workDir: string,
        private readonly runtimeDir: string,
    ) {}

    /** FQDN of the app's Service. */
    get serviceHost(): string {
        return `${this.opts.app}.${this.opts.namespace}.svc.cluster.local`;
    }

    /** Creates the namespace and starts following the app's pods. Needs the cluster's environment (up.sh). */
    static start(opts: MeshOptions): Mesh {
        requiredEnv("ISTIOD_XDS_SOCKET", "start the cluster with scripts/cluster/up.sh (it runs istiod)");
        istioCaDir();
        const runtimeDir = compileRuntime();
        const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "icm-"));
        const netns = MeshNetns.create(opts.label ?? "mesh");
        const mesh = new Mesh(opts, netns, workDir, runtimeDir);
        mesh.stopWatch = mesh.kube.watch<PodObject>(
            `/api/v1/namespaces/${opts.namespace}/pods?labelSelector=${encodeURIComponent(`app=${opts.app}`)}`,
            (ev) => mesh.enqueue(() => mesh.onPod(ev.type, ev.object)),
            (e) => mesh.errors.push(`pod watch: ${e.message}`),
        );
        return mesh;
    }

    private enqueue(task: () => Promise<void>): void {
        this.queue = this.queue.then(task).catch((e: unknown) => {
            this.errors.push(String(e instanceof Error ? e.message : e));
        });
    }

    private async onPod(type: string, pod: PodObject): Promise<void> {
        const uid = pod.metadata.uid;
        const existing = this.backends.get(uid);
        if (type === "DELETED") {
            if (existing) {
                await this.stopBackend(existing);
            }
            return;
        }
        const ip = pod.status.podIP;
        if (existing || !ip || pod.status.phase !== "Running" || pod.metadata.deletionTimestamp) {
            return;
        }
        // kwok may hand a deleted pod's IP to a new pod before the old backend is gone.
        for (const b of [...this.backends.values()].filter((b) => b.ip === ip)) {
            await this.stopBackend(b);
        }
        await this.startBackend(pod, ip);
    }

    private async startBackend(pod: PodObject, ip: string): Promise<void> {
        const labels = pod.metadata.labels ?? {};
        const track = labels.track ?? "unknown";
        const version = labels.version ?? "unknown";
        const rs = pod.metadata.ownerReferences?.find((o) => o.kind === "ReplicaSet")?.name;
        const workload = rs ? rs.replace(/-[a-z0-9]+$/, "") : pod.metadata.name;
        const sa = pod.spec.serviceAccountName ?? "default";
        const identity = spiffeId(pod.metadata.namespace, sa);
        const dir = path.join(this.workDir, pod.metadata.name);
        const certs = issueWorkloadCert(dir, identity);
        this.netns.addAddress(ip);
        const cfg: BackendConfig = {
            pod: pod.metadata.name,
            ip,
            port: this.opts.containerPort,
            namespace: pod.metadata.namespace,
            workload,
            app: this.opts.app,
            track,
            version,
            serviceHost: this.serviceHost,
            ...certs,
            controlSocket: path.join(dir, "control.sock"),
            behaviour: this.behaviours.get(version) ?? HEALTHY,
        };
        const proc = this.netns.spawn(process.execPath, [path.join(this.runtimeDir, "backend.js")], {
            env: { ...process.env, MESH_BACKEND_CONFIG: JSON.stringify(cfg) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const exited = new Promise<void>((r) => proc.once("exit", () => r()));
        const b: RunningBackend = {
            pod: cfg.pod,
            uid: pod.metadata.uid,
            ip,
            workload,
            track,
            version,
            proc,
            controlSocket: cfg.controlSocket,
            exited,
        };
        this.backends.set(b.uid, b);
        try {
            await waitReady(proc, `backend of pod ${cfg.pod} (${ip})`, path.join(dir, "backend.log"));
        } catch (e) {
            this.backends.delete(b.uid);
            throw e;
        }
        // A behaviour set while it started.
        const now = this.behaviours.get(version);
        if (now && now !== cfg.behaviour) {
            await socketRequest(b.controlSocket, "PUT", "/behaviour", now);
        }
    }

    private async stopBackend(b: RunningBackend): Promise<void> {
        this.backends.delete(b.uid);
        if (b.proc.exitCode === null && b.proc.signalCode === null) {
            b.proc.kill("SIGTERM");
        }
        await b.exited;
        if (![...this.backends.values()].some((o) => o.ip === b.ip)) {
            this.netns.removeAddress(b.ip);
        }
    }

    /** The backends running now. */
    list(): BackendInfo[] {
        return [...this.backends.values()]
            .map(({ pod, uid, ip, workload, track, version }) => ({ pod, uid, ip, workload, track, version }))
            .sort((a, b) => a.pod.localeCompare(b.pod));
    }

    /** Waits until the running backends satisfy `ok` (for instance: 2 stable and 1 canary of version v2). */
    async waitForBackends(
        ok: (list: BackendInfo[]) => boolean,
        what: string,
        timeoutMs = 60_000,
    ): Promise<BackendInfo[]> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            await this.queue;
            const list = this.list();
            if (ok(list)) {
                return list;
            }
            if (Date.now() > deadline) {
                throw new Error(
                    `timed out waiting for backends: ${what}; running: ${JSON.stringify(list)}; errors: ${this.errors.join("; ")}`,
                );
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    /** How the backends of `version` behave from now on (running ones too). */
    async setBehaviour(version: string, behaviour: Behaviour): Promise<void> {
        this.behaviours.set(version, behaviour);
        await this.queue;
        await Promise.all(
            [...this.backends.values()]
                .filter((b) => b.version === version)
                .map((b) => socketRequest(b.controlSocket, "PUT", "/behaviour", behaviour)),
        );
    }

    /**
     * Starts a proxyless gRPC client in the mesh namespace, as workload `name` (service account `name`) of the app's
     * namespace, and waits until its control socket answers.
     */
    async startClient(name = "mesh-client", deadlineMs = 5000): Promise<MeshClient> {
        const ns = this.opts.namespace;
        const dir = path.join(this.workDir, `client-${name}-${this.clients.length}`);
        const certs = issueWorkloadCert(dir, spiffeId(ns, name));
        const bootstrap = {
            xds_servers: [
                {
                    server_uri: `unix://${requiredEnv("ISTIOD_XDS_SOCKET")}`,
                    channel_creds: [{ type: "insecure" }],
                    server_features: ["xds_v3"],
                },
            ],
            node: {
                id: `sidecar~${CLIENT_NODE_IP}~${name}.${ns}~${ns}.svc.cluster.local`,
                locality: {},
                metadata: {
                    GENERATOR: "grpc",
                    NAMESPACE: ns,
                    CLUSTER_ID: "Kubernetes",
                    SERVICE_ACCOUNT: name,
                    WORKLOAD_NAME: name,
                    LABELS: { app: name },
                },
            },
            certificate_providers: {
                default: {
                    plugin_name: "file_watcher",
                    config: {
                        certificate_file: certs.certificateFile,
                        private_key_file: certs.privateKeyFile,
                        ca_certificate_file: certs.caCertificateFile,
                        refresh_interval: "900s",
                    },
                },
            },
            server_listener_resource_name_template: "xds.istio.io/grpc/lds/inbound/%s",
        };
        const bootstrapFile = path.join(dir, "bootstrap.json");
        fs.writeFileSync(bootstrapFile, JSON.stringify(bootstrap, null, 2));
        const cfg: ClientConfig = {
            target: `xds:///${this.serviceHost}:${this.opts.servicePort}`,
            controlSocket: path.join(dir, "control.sock"),
            sourceWorkload: name,
            deadlineMs,
        };
        const proc = this.netns.spawn(process.execPath, [path.join(this.runtimeDir, "client.js")], {
            env: { ...process.env, MESH_CLIENT_CONFIG: JSON.stringify(cfg), GRPC_XDS_BOOTSTRAP: bootstrapFile },
            stdio: ["ignore", "pipe", "pipe"],
        });
        await waitReady(proc, `mesh client ${name}`, path.join(dir, "client.log"));
        const client = new MeshClient(name, proc, cfg.controlSocket, bootstrap.node.id, path.join(dir, "client.log"));
        this.clients.push(client);
        return client;
    }

    /**
     * Serves every running backend's metrics on http://127.0.0.1:<port>/metrics (in the test's namespace, where
     * Prometheus runs), each series labelled with its pod, as Prometheus' Kubernetes discovery would. Returns the
     * port.
     */
    async startMetricsExporter(): Promise<number> {
        this.exporter = http.createServer((_req, res) => {
            void (async () => {
                const parts = await Promise.all(
                    [...this.backends.values()].map(async (b) => {
                        try {
                            const text = await socketRequest<string>(b.controlSocket, "GET", "/metrics");
                            return text
                                .split("\n")
                                .filter((l) => l !== "" && !l.startsWith("#"))
                                .map((l) => l.replace(/\{/, `{pod="${b.pod}",`));
                        } catch {
                            return []; // stopped while being scraped
                        }
                    }),
                );
                res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
                res.end(
                    [
                        "# TYPE istio_requests_total counter",
                        "# TYPE istio_request_duration_milliseconds histogram",
                        ...parts.flat(),
                    ].join("\n") + "\n",
                );
            })();
        });
        await new Promise<void>((r) => this.exporter!.listen(0, "127.0.0.1", r));
        return (this.exporter.address() as AddressInfo).port;
    }

    /** Stops every process, the exporter and the watch, and deletes the namespace. */
    async stop(): Promise<void> {
        this.stopWatch();
        await this.queue.catch(() => undefined);
        for (const c of this.clients) {
            await c.stop();
        }
        for (const b of [...this.backends.values()]) {
            await this.stopBackend(b);
        }
        await new Promise<void>((r) => (this.exporter ? this.exporter.close(() => r()) : r()));
        this.kube.close();
        this.netns.destroy();
        if (process.env.MESH_KEEP_WORKDIR !== "1") {
            fs.rmSync(this.workDir, { recursive: true, force: true });
        }
    }
}

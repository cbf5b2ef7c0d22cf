/**
 * Synchronous GETs of live objects for the tests' assertions, without a kubectl process per read (about 0.2 s of
 * CPU each, mostly its start-up; the suite reads hundreds of objects): a worker thread keeps one kept-alive HTTPS
 * client of the suite's API server (stacks/automation/kube-api.ts, from KUBECONFIG as kubectl reads it), and the
 * caller waits on a shared flag until it has answered. The kinds the tests name map to their API paths below;
 * any other kind is read by kubectl, as before.
 */
import * as path from "path";
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from "worker_threads";

/** API path prefix (group and version kubectl prefers here) and plural, and whether objects live in a namespace. */
const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {};
function add(names: string[], prefix: string, plural: string, namespaced = true): void {
    for (const n of names) {
        RESOURCES[n] = { prefix, plural, namespaced };
    }
}
add(["deployment", "deployments"], "/apis/apps/v1", "deployments");
add(["daemonset", "daemonsets"], "/apis/apps/v1", "daemonsets");
add(["secret", "secrets"], "/api/v1", "secrets");
add(["configmap", "configmaps"], "/api/v1", "configmaps");
add(["serviceaccount", "serviceaccounts"], "/api/v1", "serviceaccounts");
add(["namespace", "namespaces"], "/api/v1", "namespaces", false);
add(["hpa", "horizontalpodautoscalers"], "/apis/autoscaling/v2", "horizontalpodautoscalers");
add(["apiservice", "apiservices"], "/apis/apiregistration.k8s.io/v1", "apiservices", false);
add(["poddisruptionbudgets.policy", "pdb"], "/apis/policy/v1", "poddisruptionbudgets");
add(["leases.coordination.k8s.io", "lease"], "/apis/coordination.k8s.io/v1", "leases");
add(["virtualservices.networking.istio.io", "virtualservice"], "/apis/networking.istio.io/v1", "virtualservices");
add(["gateways.networking.istio.io"], "/apis/networking.istio.io/v1", "gateways"); // not "gateway": the Gateway API's too
add(["destinationrules.networking.istio.io", "destinationrule"], "/apis/networking.istio.io/v1", "destinationrules");
add(
    ["peerauthentications.security.istio.io", "peerauthentication"],
    "/apis/security.istio.io/v1",
    "peerauthentications",
);
add(
    ["authorizationpolicies.security.istio.io", "authorizationpolicy"],
    "/apis/security.istio.io/v1",
    "authorizationpolicies",
);

/** The API path of one object of `kind`, or undefined for a kind not in the table above. */
export function objectPath(kind: string, namespace: string, name: string): string | undefined {
    const r = RESOURCES[kind];
    if (r === undefined || r.namespaced === (namespace === "")) {
        return undefined;
    }
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${r.prefix}${ns}/${r.plural}/${encodeURIComponent(name)}`;
}

/**
 * The worker: answers each request on its port with the object, nothing (the object's own NotFound) or the error's
 * text, whatever happens (a client it could not make answers every request with why).
 */
const WORKER = `
const { workerData } = require("worker_threads");
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
let api, startError;
try {
    require(workerData.preload);
    api = require(workerData.kubeApi).KubeApi.fromKubeconfig();
} catch (e) {
    startError = "no API client from KUBECONFIG: " + (e && e.message ? e.message : e);
}
const answer = (message) => {
    port.postMessage(message);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
};
port.on("message", ({ id, apiPath }) => {
    if (startError !== undefined) {
        return answer({ id, error: startError });
    }
    const name = decodeURIComponent(apiPath.split("/").pop());
    Promise.resolve()
        .then(() => api.request("GET", apiPath))
        .then(
            (value) => ({ id, value }),
            (e) => {
                // Only the object's own NotFound means "none": a path the server does not serve is an error, never
                // an absent object (a test asserting that something is gone must not pass on a wrong path).
                const gone = e && e.status === 404 && String(e.message).includes('"' + name + '" not found');
                return gone ? { id } : { id, error: String(e && e.message ? e.message : e) };
            },
        )
        .then(answer);
});
`;

let client: { port: MessagePort; flag: Int32Array; died?: string } | undefined;
let lastId = 0;

function start(): { port: MessagePort; flag: Int32Array; died?: string } {
    const root = path.resolve(__dirname, "..", "..");
    const shared = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER, {
        eval: true,
        workerData: {
            preload: path.join(root, "stacks", "preload.js"),
            kubeApi: path.join(root, "stacks", "automation", "kube-api.ts"),
            flag: shared,
            port: port2,
        },
        transferList: [port2],
    });
    const started: { port: MessagePort; flag: Int32Array; died?: string } = {
        port: port1,
        flag: new Int32Array(shared),
    };
    // A worker that dies is said at the next read (and a new one starts for the read after it).
    worker.on("error", (e) => (started.died = `the reading thread died: ${e.message}`));
    worker.on("exit", (code) => (started.died ??= `the reading thread exited (${code})`));
    worker.unref();
    port1.unref();
    return started;
}

/**
 * GETs the object at `apiPath` and waits for it: the object, or undefined when there is none; throws the API
 * server's answer otherwise, when nothing answered in 15 s, or when the reading thread died since the last read.
 */
export function getSync<T>(apiPath: string): T | undefined {
    if (client?.died !== undefined) {
        const died = client.died;
        client = undefined; // the next read starts another
        throw new Error(`GET ${apiPath}: ${died}`);
    }
    client ??= start();
    const id = ++lastId;
    const deadline = Date.now() + 15000;
    client.port.postMessage({ id, apiPath });
    let answer: { id: number; value?: T; error?: string } | undefined;
    // An answer left over from a read that timed out is passed over (its id says whose it is).
    while (answer?.id !== id) {
        Atomics.store(client.flag, 0, 0);
        answer = receiveMessageOnPort(client.port)?.message as typeof answer;
        if (
            answer === undefined &&
            Atomics.wait(client.flag, 0, 0, Math.max(0, deadline - Date.now())) === "timed-out"
        ) {
            client = undefined; // a thread that does not answer is left behind (unref'd); the next read starts another
            throw new Error(`GET ${apiPath}: no answer from the reading thread in 15 s`);
        }
    }
    if (answer.error !== undefined) {
        throw new Error(answer.error);
    }
    return answer.value;
}

/**
 * The test network namespace that holds the pods' addresses. Created by the test (root, `ip netns`), it has only
 * `lo`, and every pod IP is added to that `lo` as a /32: traffic to a pod IP never leaves the namespace, and
 * traffic to any other 10.x address fails at once ("no route"). Processes started in it (`ip netns exec`) listen on
 * and dial pod IPs; they reach istiod only through a Unix socket (a file, reachable from every namespace).
 */
import { ChildProcess, execFileSync, spawn, SpawnOptions } from "child_process";

function ip(args: string[]): string {
    try {
        return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`ip ${args.join(" ")} failed: ${err.stderr?.trim() || err.message}`);
    }
}

/** Names of the namespaces `ip netns list` shows. */
export function listNetns(): string[] {
    return ip(["netns", "list"])
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter((n) => n !== "");
}

/** Namespaces made by {@link MeshNetns} whose creating process is gone (a killed test run). */
export function staleMeshNetns(): string[] {
    return listNetns().filter((n) => {
        const m = /^icm-(\d+)-/.exec(n);
        if (!m) {
            return false;
        }
        try {
            process.kill(Number(m[1]), 0);
            return false;
        } catch {
            return true;
        }
    });
}

export class MeshNetns {
    private readonly addresses = new Set<string>();
    private constructor(readonly name: string) {}

    /** Creates a namespace with only `lo` (up). Removes namespaces left behind by killed runs first. */
    static create(label: string): MeshNetns {
        if (process.getuid?.() !== 0) {
            throw new Error("the mesh network namespace needs root (ip netns add): run the tests as root");
        }
        for (const stale of staleMeshNetns()) {
            ip(["netns", "del", stale]);
        }
        const name = `icm-${process.pid}-${label}`;
        ip(["netns", "add", name]);
        const ns = new MeshNetns(name);
        ip(["-n", name, "link", "set", "lo", "up"]);
        const links = ip(["-n", name, "-o", "link", "show"])
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => l.split(": ")[1]);
        if (links.join(",") !== "lo") {
            ns.destroy();
            throw new Error(`network namespace ${name} has links other than lo: ${links.join(", ")}`);
        }
        return ns;
    }

    /** Puts `address` (a pod IP) on the namespace's `lo`. */
    addAddress(address: string): void {
        if (this.addresses.has(address)) {
            return;
        }
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(address) || address.startsWith("127.")) {
            throw new Error(`not a pod IPv4 address: ${address}`);
        }
        ip(["-n", this.name, "addr", "add", `${address}/32`, "dev", "lo"]);
        this.addresses.add(address);
    }

    removeAddress(address: string): void {
        if (this.addresses.delete(address)) {
            ip(["-n", this.name, "addr", "del", `${address}/32`, "dev", "lo"]);
        }
    }

    /** Addresses on the namespace's `lo` (IPv4, loopback excluded), as the kernel reports them. */
    liveAddresses(): string[] {
        return [
            ...ip(["-n", this.name, "-o", "-4", "addr", "show", "dev", "lo"]).matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g),
        ]
            .map((m) => m[1])
            .filter((a) => !a.startsWith("127."));
    }

    /** Starts `command` inside the namespace. */
    spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
        return spawn("ip", ["netns", "exec", this.name, command, ...args], options);
    }

    /** Deletes the namespace (its addresses go with it). */
    destroy(): void {
        if (listNetns().includes(this.name)) {
            ip(["netns", "del", this.name]);
        }
        this.addresses.clear();
    }
}

/** Process helpers of the test mesh: its runtime compiled once to JavaScript, readiness, and the control socket. */
import { ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as ts from "typescript";

/** The mesh processes as plain JavaScript (transpiled once per source version), so each starts in milliseconds. */
export function compileRuntime(): string {
    const files = ["protocol.ts", "backend.ts", "client.ts"];
    const sources = files.map((f) => fs.readFileSync(path.join(__dirname, f), "utf8"));
    const hash = crypto.createHash("sha256").update(sources.join("\0")).digest("hex").slice(0, 16);
    // Under the repository's node_modules, so that the client resolves @grpc/* from there.
    const dir = path.join(__dirname, "..", "..", "node_modules", ".cache", "istio-canary-mesh", hash);
    if (!fs.existsSync(path.join(dir, "client.js"))) {
        const tmp = `${dir}.tmp.${process.pid}`;
        fs.mkdirSync(tmp, { recursive: true });
        files.forEach((f, i) => {
            const out = ts.transpileModule(sources[i], {
                compilerOptions: {
                    module: ts.ModuleKind.CommonJS,
                    target: ts.ScriptTarget.ES2022,
                    esModuleInterop: true,
                },
                fileName: f,
            });
            fs.writeFileSync(path.join(tmp, f.replace(/\.ts$/, ".js")), out.outputText);
        });
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
    }
    return dir;
}

/** Starts `child` and resolves when it prints "ready"; rejects with its stderr if it exits first. */
export function waitReady(child: ChildProcess, what: string, logFile: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
        const log = fs.createWriteStream(logFile, { flags: "a" });
        child.stderr?.pipe(log);
        let out = "";
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${what} did not get ready in ${timeoutMs} ms (log ${logFile})`));
        }, timeoutMs);
        const onData = (c: Buffer) => {
            out += c.toString();
            if (out.includes("ready\n")) {
                clearTimeout(timer);
                child.stdout?.off("data", onData);
                child.stdout?.resume();
                resolve();
            }
        };
        child.stdout?.on("data", onData);
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            reject(
                new Error(
                    `${what} exited (${code ?? signal}) before it was ready: ${fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : ""}`,
                ),
            );
        });
    });
}

/** GET/POST/PUT/DELETE on a process's control socket; JSON in and out. */
export function socketRequest<T>(socket: string, method: string, urlPath: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(
            {
                socketPath: socket,
                method,
                path: urlPath,
                headers: data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {},
            },
            (res) => {
                let text = "";
                res.on("data", (c: Buffer) => (text += c.toString()));
                res.on("end", () => {
                    if ((res.statusCode ?? 0) >= 300) {
                        reject(new Error(`${method} ${urlPath} on ${socket}: HTTP ${res.statusCode}: ${text}`));
                    } else {
                        resolve((res.headers["content-type"]?.includes("json") ? JSON.parse(text) : text) as T);
                    }
                });
            },
        );
        req.on("error", reject);
        req.end(data);
    });
}

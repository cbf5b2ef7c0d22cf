/**
 * A self-signed certificate for development stacks, made with the openssl CLI (Node.js can parse but not issue
 * X.509 certificates). `npm run dev:tls -- --stack dev` (stacks/cli/dev-tls.ts) stores one in a stack's config.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A PEM certificate and its private key. */
export interface TlsPair {
    cert: string;
    key: string;
}

/** Issues a self-signed EC P-256 certificate for `hosts` (first host as CN), valid for `days`. */
export function selfSignedCertificate(hosts: string[], days = 365): TlsPair {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-tls-"));
    try {
        const certFile = path.join(dir, "tls.crt");
        const keyFile = path.join(dir, "tls.key");
        execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                keyFile,
                "-out",
                certFile,
                "-days",
                String(days),
                "-subj",
                `/CN=${hosts[0]}`,
                "-addext",
                `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}`,
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

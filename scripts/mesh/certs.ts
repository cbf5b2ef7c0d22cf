/**
 * Workload certificates as Istio issues them: a SPIFFE identity (spiffe://<trust domain>/ns/<ns>/sa/<sa>) in the URI
 * SAN, signed by istiod's own CA (the plugged-in CA of the local cluster, $ISTIO_CA_DIR: ca-cert.pem, ca-key.pem,
 * root-cert.pem). Written as the three files a gRPC file-watcher certificate provider reads.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const TRUST_DOMAIN = "cluster.local";

/** The SPIFFE identity of a service account. */
export function spiffeId(namespace: string, serviceAccount: string): string {
    return `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The principal of a SPIFFE identity, as Istio's AuthorizationPolicies name it (without "spiffe://"). */
export function principalOf(identity: string): string {
    return identity.replace(/^spiffe:\/\//, "");
}

/** Files of one workload identity. */
export interface WorkloadCertFiles {
    /** Leaf certificate (PEM). */
    certificateFile: string;
    /** Its private key (PEM, PKCS#8). */
    privateKeyFile: string;
    /** istiod's root certificate (PEM): the only trust anchor. */
    caCertificateFile: string;
    /** The identity in the certificate's URI SAN. */
    identity: string;
}

/** istiod's CA directory, from ISTIO_CA_DIR (set by scripts/cluster/up.sh), checked. */
export function istioCaDir(): string {
    const dir = process.env.ISTIO_CA_DIR;
    if (!dir) {
        throw new Error("ISTIO_CA_DIR is not set: start the cluster with scripts/cluster/up.sh (it runs istiod)");
    }
    for (const f of ["ca-cert.pem", "ca-key.pem", "root-cert.pem"]) {
        if (!fs.existsSync(path.join(dir, f))) {
            throw new Error(`${path.join(dir, f)} is missing: ISTIO_CA_DIR must be istiod's CA directory`);
        }
    }
    return dir;
}

/**
 * Issues a certificate for `identity` (a SPIFFE ID) into `dir`, valid for a day, signed by the CA in `caDir`.
 * Used for clients and servers alike (extendedKeyUsage serverAuth and clientAuth, as Istio's workload certificates).
 */
export function issueWorkloadCert(dir: string, identity: string, caDir: string = istioCaDir()): WorkloadCertFiles {
    fs.mkdirSync(dir, { recursive: true });
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const keyFile = path.join(dir, "key.pem");
    fs.writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const csr = path.join(dir, "cert.csr");
    const ext = path.join(dir, "cert.ext");
    const certFile = path.join(dir, "cert-chain.pem");
    const openssl = (args: string[]) => {
        try {
            execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
        } catch (e) {
            throw new Error(`openssl ${args[0]} failed: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
        }
    };
    openssl(["req", "-new", "-key", keyFile, "-subj", "/O=cluster.local", "-out", csr]);
    fs.writeFileSync(
        ext,
        [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth,clientAuth",
            `subjectAltName=critical,URI:${identity}`,
            "",
        ].join("\n"),
    );
    openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        path.join(caDir, "ca-cert.pem"),
        "-CAkey",
        path.join(caDir, "ca-key.pem"),
        "-set_serial",
        `0x${crypto.randomBytes(16).toString("hex")}`,
        "-days",
        "1",
        "-sha256",
        "-extfile",
        ext,
        "-out",
        certFile,
    ]);
    fs.rmSync(csr);
    fs.rmSync(ext);
    const caFile = path.join(dir, "root-cert.pem");
    fs.copyFileSync(path.join(caDir, "root-cert.pem"), caFile);
    return { certificateFile: certFile, privateKeyFile: keyFile, caCertificateFile: caFile, identity };
}

/** The URI SANs of a PEM certificate. */
export function uriSans(pem: string | Buffer): string[] {
    const san = new crypto.X509Certificate(pem).subjectAltName ?? "";
    return san
        .split(", ")
        .filter((s) => s.startsWith("URI:"))
        .map((s) => s.slice(4));
}

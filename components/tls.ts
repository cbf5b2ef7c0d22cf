/**
 * Checks a TLS certificate and private key before they become a kubernetes.io/tls Secret.
 * Messages never quote the PEM text: the key is a secret and must not reach logs.
 */
import { X509Certificate, createPrivateKey, KeyObject } from "crypto";

/** Result of {@link checkTlsPair}: problems block the deployment, warnings are only reported. */
export interface TlsCheck {
    problems: string[];
    warnings: string[];
}

const CERT_HINT = 'a PEM-encoded X.509 certificate ("-----BEGIN CERTIFICATE-----")';
const KEY_HINT = 'a PEM-encoded private key ("-----BEGIN PRIVATE KEY-----", RSA or EC)';

function parseCert(pem: string): X509Certificate | undefined {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        return undefined;
    }
    try {
        return new X509Certificate(pem);
    } catch {
        return undefined;
    }
}

function parseKey(pem: string): KeyObject | undefined {
    if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
        return undefined;
    }
    try {
        return createPrivateKey({ key: pem, format: "pem" });
    } catch {
        return undefined;
    }
}

/**
 * Checks that `cert` and `key` parse as PEM, belong together and that the certificate is currently valid.
 * Hosts the certificate does not cover are warnings (a wildcard gateway host matches anything).
 */
export function checkTlsPair(cert: string, key: string, hosts: string[] = [], now: Date = new Date()): TlsCheck {
    const problems: string[] = [];
    const warnings: string[] = [];
    const x509 = parseCert(cert);
    const pkey = parseKey(key);
    if (!x509) {
        problems.push(`tlsCert must be ${CERT_HINT}; the value could not be parsed as one`);
    }
    if (!pkey) {
        problems.push(`tlsKey must be ${KEY_HINT}; the value could not be parsed as one`);
    }
    if (!x509 || !pkey) {
        return { problems, warnings };
    }
    if (!x509.checkPrivateKey(pkey)) {
        problems.push("tlsKey does not match tlsCert: the private key is not the key of the certificate");
    }
    const notAfter = new Date(x509.validTo);
    if (notAfter.getTime() < now.getTime()) {
        problems.push(`tlsCert expired on ${notAfter.toISOString()}; renew it`);
    }
    for (const host of hosts) {
        if (host !== "*" && !x509.checkHost(host)) {
            warnings.push(`tlsCert does not cover host "${host}"; clients will reject the certificate`);
        }
    }
    return { problems, warnings };
}

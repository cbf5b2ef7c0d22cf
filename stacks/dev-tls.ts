/**
 * A self-signed certificate for development stacks, made with the openssl CLI (Node.js can parse but not issue
 * X.509 certificates). Run as a script it stores the pair as secrets in a stack's config:
 *
 *   npm run dev:tls -- --stack dev
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_NAMESPACE } from "../components/config";
import { selectStack } from "./automation";
import { FlagSpec, helpText, parseArgs, runMain, UsageError } from "./cli-args";

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

const FLAGS: FlagSpec[] = [
    { name: "stack", kind: "value", arg: "<name>", help: "Stack whose config gets the pair (required)." },
    {
        name: "work-dir",
        kind: "value",
        arg: "<dir>",
        help: "Pulumi project directory. Defaults to the current directory.",
    },
    { name: "days", kind: "value", arg: "<n>", help: "Validity in days. Defaults to 365." },
    { name: "help", kind: "switch", help: "Show this help." },
];

/** `npm run dev:tls -- --stack dev`: a self-signed pair for the stack's hosts, stored as tlsCert/tlsKey secrets. */
export async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help")) {
        process.stdout.write(
            helpText(
                "npm run dev:tls -- --stack <name>",
                "Issues a self-signed certificate for the stack's `hosts` (development only) and stores it with its key as\nthe secrets tlsCert and tlsKey in the stack's config.",
                FLAGS,
            ),
        );
        return 0;
    }
    try {
        const { values } = parseArgs(argv, FLAGS);
        if (values.stack === undefined) {
            throw new UsageError("--stack is required, e.g. --stack dev");
        }
        const days = Number(values.days ?? "365");
        if (!Number.isInteger(days) || days < 1 || days > 3650) {
            throw new UsageError(`--days must be an integer from 1 to 3650; got "${values.days}"`);
        }
        const stack = await selectStack(values.stack, path.resolve(values["work-dir"] ?? "."));
        const config = await stack.getAllConfig();
        const hostsRaw = config[`${CONFIG_NAMESPACE}:hosts`]?.value;
        if (hostsRaw === undefined) {
            throw new UsageError(
                `stack ${values.stack} has no hosts config; set it first: pulumi config set hosts app.example.test`,
            );
        }
        const hosts = hostsRaw.trim().startsWith("[")
            ? (JSON.parse(hostsRaw) as string[])
            : hostsRaw.split(",").map((h) => h.trim());
        const pair = selfSignedCertificate(hosts, days);
        await stack.setAllConfig({
            [`${CONFIG_NAMESPACE}:tlsCert`]: { value: pair.cert, secret: true },
            [`${CONFIG_NAMESPACE}:tlsKey`]: { value: pair.key, secret: true },
        });
        process.stdout.write(
            `stored a self-signed certificate for ${hosts.join(", ")} (${days} days) as secrets tlsCert and tlsKey of stack ${values.stack}\n`,
        );
        return 0;
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return 2;
    }
}

runMain(module, main);

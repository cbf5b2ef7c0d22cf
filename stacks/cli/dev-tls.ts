/** `npm run dev:tls -- --stack dev`: a self-signed pair for the stack's hosts, stored as tlsCert/tlsKey secrets. */
import * as path from "path";
import { selfSignedCertificate } from "../automation/dev-tls";
import { readStackConfig, selectStack, writeStackConfig } from "../automation/local-stack";
import { FlagSpec, helpText, LOCAL_PATH, parseArgs, runMain, STACK_NAME, UsageError } from "./args";

const FLAGS: FlagSpec[] = [
    {
        name: "stack",
        kind: "value",
        arg: "<name>",
        help: "Stack whose config gets the pair (required).",
        grammar: STACK_NAME,
    },
    {
        name: "work-dir",
        kind: "value",
        arg: "<dir>",
        help: "Pulumi project directory. Defaults to the current directory.",
        grammar: LOCAL_PATH,
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
        const days = /^[1-9]\d{0,3}$/.test(values.days ?? "365") ? Number(values.days ?? "365") : NaN;
        if (!(days >= 1 && days <= 3650)) {
            throw new UsageError(`--days must be an integer from 1 to 3650; got ${JSON.stringify(values.days)}`);
        }
        const stack = await selectStack(values.stack, path.resolve(values["work-dir"] ?? "."));
        const hostsRaw = (await readStackConfig(stack)).values.hosts;
        if (hostsRaw === undefined) {
            throw new UsageError(
                `stack ${values.stack} has no hosts config; set it first: pulumi config set hosts app.example.test`,
            );
        }
        const hosts = hostsRaw.trim().startsWith("[")
            ? (JSON.parse(hostsRaw) as string[])
            : hostsRaw.split(",").map((h) => h.trim());
        const pair = selfSignedCertificate(hosts, days);
        await writeStackConfig(stack, { tlsCert: pair.cert, tlsKey: pair.key }, ["tlsCert", "tlsKey"]);
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

/** `npm run docs:config`: rewrites the README's config reference from the config declarations. */
import * as fs from "fs";
import * as path from "path";
import { withReference } from "../../config/reference";

const file = path.join(__dirname, "..", "..", "README.md");
fs.writeFileSync(file, withReference(fs.readFileSync(file, "utf8")));
process.stdout.write(`updated the config reference in ${file}\n`);

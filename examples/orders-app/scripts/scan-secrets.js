// A small secret scan for the security stage: fails on private keys and token-looking strings
// committed in the source.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const PATTERNS = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"],
  [/\bAKIA[0-9A-Z]{16}\b/, "AWS access key id"],
  [/\bgh[pousr]_[A-Za-z0-9]{36}\b/, "GitHub token"],
];
const skip = new Set(["node_modules", ".git", "dist"]);
let found = 0;
function scan(dir) {
  for (const entry of readdirSync(dir)) {
    if (skip.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) scan(path);
    else {
      const text = readFileSync(path, "utf8");
      for (const [re, what] of PATTERNS) {
        if (!re.test(text)) continue;
        found++;
        console.log(`::error file=${path}::possible ${what}`);
      }
    }
  }
}
scan(process.argv[2] ?? ".");
console.log(`secret scan: ${found} finding(s)`);
process.exit(found > 0 ? 1 : 0);

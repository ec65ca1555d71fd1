// `npm run demo`: runs the seed guide's pipeline on the sample app, as a team would after a
// push to main: the example is copied into a fresh git repository in a temporary folder and
// `trunkline run` runs there (quality, tests, security, build, the dev deployment; staging
// waits for approval). Extra arguments go to `trunkline run`, e.g. `npm run demo -- --approve staging`.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "trunkline-demo-"));
cpSync(join(root, "examples", "orders-app"), dir, {
  recursive: true,
  filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src),
});
const git = (...args) =>
  execFileSync("git", ["-c", "user.email=demo@example.com", "-c", "user.name=demo", ...args], {
    cwd: dir,
  });
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-q", "-m", "orders-api");
console.log(`Sample app in ${dir}: trunkline run\n`);
const run = spawnSync(
  process.execPath,
  [join(root, "dist", "trunkline.js"), "run", "-C", dir, ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);
rmSync(dir, { recursive: true, force: true });
process.exit(run.status ?? 1);

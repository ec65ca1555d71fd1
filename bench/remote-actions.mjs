// Remote actions: the time from a job's start (`job.started`) to its first step
// (`step.started`) in `trunkline run`, for a job whose steps use 5 remote node actions
// fetched from a local git smart-HTTP server standing in for github.com, with a cold action
// store (a new state directory each round: 5 ref lookups, 5 shallow fetches, 5 exports) and
// a warm one (5 ref lookups, nothing fetched), beside the same job with 5 `run:` steps
// instead (the peer in the same rounds: what "Set up job" costs without actions).
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startGitHost } from "../test/helpers/git-host.mjs";
import { ensureBuilt, median, ROOT } from "./lib.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const ACTIONS = 5;
ensureBuilt();
const run = promisify(execFile);
const BIN = join(ROOT, "dist", "trunkline.js");

const host = await startGitHost();
for (let i = 1; i <= ACTIONS; i++) {
  host.publish(
    `bench/action-${i}`,
    {
      "action.yml": `name: a${i}\nruns:\n  using: node20\n  main: index.js\n`,
      "index.js": `console.log("action ${i}");\n`,
      // Something of an action's usual weight: a bundled dist/ of a few hundred KB.
      "dist/index.js": `// bundle\n${"x".repeat(300 * 1024)}\n`,
    },
    ["v1"],
  );
}

function repo(uses) {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-bench-actions-"));
  const steps = [];
  for (let i = 1; i <= ACTIONS; i++)
    steps.push(uses ? `      - uses: bench/action-${i}@v1` : `      - run: echo step ${i}`);
  mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
  writeFileSync(
    join(dir, ".github", "workflows", "ci.yml"),
    ["on: push", "jobs:", "  job:", "    runs-on: ubuntu-latest", "    steps:", ...steps, ""].join(
      "\n",
    ),
  );
  const git = (...args) =>
    execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "bench");
  return dir;
}

/**
 * Milliseconds from the job's start to its first step, in one `trunkline run` (run
 * asynchronously: the git host answers from this process).
 */
async function setUpJob(dir, state) {
  const { stdout: out } = await run(
    process.execPath,
    [BIN, "--cwd", dir, "run", "--json", "--actions-url", host.url],
    { env: { ...process.env, XDG_STATE_HOME: state }, encoding: "utf8" },
  );
  const events = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const started = events.find((e) => e.type === "job.started").at;
  const first = events.find((e) => e.type === "step.started").at;
  return first - started;
}

const withActions = repo(true);
const plain = repo(false);
const cold = [];
const warm = [];
const none = [];
for (let round = 0; round < ROUNDS; round++) {
  const state = mkdtempSync(join(tmpdir(), "trunkline-bench-state-"));
  none.push(await setUpJob(plain, state));
  cold.push(await setUpJob(withActions, state));
  warm.push(await setUpJob(withActions, state));
  rmSync(state, { recursive: true, force: true });
}
await host.close();
const fmt = (ms) => `${ms.toFixed(1)} ms`;
console.log(`job start to first step, median of ${ROUNDS} rounds (${ACTIONS} remote actions):`);
console.log(`  no actions (5 run: steps) ${fmt(median(none))}`);
console.log(
  `  cold store               ${fmt(median(cold))}  (${(median(cold) / median(none)).toFixed(1)}x)`,
);
console.log(
  `  warm store               ${fmt(median(warm))}  (${(median(warm) / median(none)).toFixed(1)}x)`,
);

// Per-step overhead: one job of 200 `run: true` steps against 200 bare `bash -e -c true`
// spawns made one after another by Node, in the same rounds. Trunkline's cost per step is
// (job of 201 steps - job of 1 step) / 200, which leaves out process start and run set-up;
// the bare cost per spawn is its total / 200. Target: within 1 ms per step of the bare spawn.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, median, ROOT, timeOnce } from "./lib.mjs";

const rounds = Number(process.env.ROUNDS ?? 7);
ensureBuilt();
function repo(steps) {
  const dir = mkdtempSync(join(tmpdir(), `trunkline-steps${steps}-`));
  const lines = ["on: push", "jobs:", "  many:", "    runs-on: ubuntu-latest", "    steps:"];
  for (let i = 0; i < steps; i++) lines.push("      - run: 'true'");
  mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
  writeFileSync(join(dir, ".github", "workflows", "steps.yml"), `${lines.join("\n")}\n`);
  writeFileSync(join(dir, ".gitignore"), ".run/\n");
  const git = (...args) =>
    execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "steps");
  return dir;
}
const one = repo(1);
const many = repo(201);
const bare = join(mkdtempSync(join(tmpdir(), "trunkline-bare-")), "bare.mjs");
writeFileSync(
  bare,
  `import { spawn } from "node:child_process";
for (let i = 0; i < 200; i++) await new Promise((resolve, reject) => spawn("bash", ["-e", "-c", "true"], { stdio: "ignore" }).on("exit", resolve).on("error", reject));
`,
);
const bin = join(ROOT, "dist", "trunkline.js");
const node = process.execPath;
// Timed twice: without the workflow cache (reading the 200 steps counts as their overhead)
// and with it (a workflow read before: running them only).
const cache = mkdtempSync(join(tmpdir(), "trunkline-bench-cache-"));
const run = (dir, cached) =>
  timeOnce(node, [bin, "run", "-C", dir, "--run-dir", join(dir, ".run")], {
    env: { XDG_CACHE_HOME: cached ? cache : "/dev/null" },
  }).ms;
const samples = { one: [], many: [], oneCached: [], manyCached: [], bare: [], nodeStart: [] };
run(one, true);
run(many, true);
for (let i = 0; i < rounds; i++) {
  samples.one.push(run(one, false));
  samples.many.push(run(many, false));
  samples.oneCached.push(run(one, true));
  samples.manyCached.push(run(many, true));
  samples.bare.push(timeOnce(node, [bare]).ms);
  samples.nodeStart.push(timeOnce(node, ["-e", ""]).ms);
}
const perStep = (median(samples.many) - median(samples.one)) / 200;
const perStepCached = (median(samples.manyCached) - median(samples.oneCached)) / 200;
const perSpawn = (median(samples.bare) - median(samples.nodeStart)) / 200;
console.log(
  `\nper-step overhead, ${rounds} interleaved rounds (${new Date().toISOString().slice(0, 10)})\n`,
);
console.log("| measure | median |");
console.log("| --- | ---: |");
console.log(`| trunkline run, job of 1 step | ${median(samples.one).toFixed(1)} ms |`);
console.log(`| trunkline run, job of 201 steps | ${median(samples.many).toFixed(1)} ms |`);
console.log(
  `| 200 bare bash -e -c true spawns (node loop, minus node start) | ${(median(samples.bare) - median(samples.nodeStart)).toFixed(1)} ms |`,
);
console.log(`| trunkline per step | ${perStep.toFixed(2)} ms |`);
console.log(`| bare spawn per step | ${perSpawn.toFixed(2)} ms |`);
console.log(`| difference per step (target under 1 ms) | ${(perStep - perSpawn).toFixed(2)} ms |`);
console.log(
  `| with the workflow cache: jobs of 1 / 201 steps | ${median(samples.oneCached).toFixed(1)} / ${median(samples.manyCached).toFixed(1)} ms |`,
);
console.log(`| with the workflow cache: trunkline per step | ${perStepCached.toFixed(2)} ms |`);
console.log(
  `| with the workflow cache: difference per step | ${(perStepCached - perSpawn).toFixed(2)} ms |`,
);

// A 50-job pipeline (5 layers of 10 jobs, each `true`, each layer needing the whole previous
// one), run end to end by `trunkline run` and by gitlab-ci-local 4.56.2 (npm; newer versions
// need Node 22) with its shell executor, in the same rounds. Target: 10x faster than
// gitlab-ci-local and under 100 MB peak memory.
// Trunkline is timed twice: as a developer's runs go, with the workflow read once and kept
// (a workflow unchanged since the last run is not parsed again), and cold, with no cache
// (every read parses: XDG_CACHE_HOME points where no cache can be written).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, ensurePeers, printTable, ROOT, race } from "./lib.mjs";

const rounds = Number(process.env.ROUNDS ?? 7);
ensureBuilt();
const peers = ensurePeers();
const dir = mkdtempSync(join(tmpdir(), "trunkline-pipeline50-"));

const github = ["name: fifty", "on: push", "jobs:"];
const gitlab = ["stages: [l1, l2, l3, l4, l5]"];
for (let layer = 1; layer <= 5; layer++) {
  const previous = Array.from({ length: 10 }, (_, k) => `job-${layer - 1}-${k + 1}`);
  for (let j = 1; j <= 10; j++) {
    const id = `job-${layer}-${j}`;
    github.push(`  ${id}:`, "    runs-on: ubuntu-latest");
    if (layer > 1) github.push(`    needs: [${previous.join(", ")}]`);
    github.push("    steps:", "      - run: 'true'");
    gitlab.push(`${id}:`, `  stage: l${layer}`);
    if (layer > 1) gitlab.push(`  needs: [${previous.join(", ")}]`);
    gitlab.push('  script: ["true"]');
  }
}
mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
writeFileSync(join(dir, ".github", "workflows", "fifty.yml"), `${github.join("\n")}\n`);
writeFileSync(join(dir, ".gitlab-ci.yml"), `${gitlab.join("\n")}\n`);
writeFileSync(join(dir, ".gitignore"), ".gitlab-ci-local/\n.run/\n.cache/\n");
const git = (...args) =>
  execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], {
    cwd: dir,
  });
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-q", "-m", "fifty jobs");

const results = race(
  [
    {
      name: "trunkline run (50 jobs, host)",
      cmd: process.execPath,
      args: [join(ROOT, "dist", "trunkline.js"), "run", "-C", dir, "--run-dir", join(dir, ".run")],
      options: { env: { XDG_CACHE_HOME: join(dir, ".cache") } },
    },
    {
      name: "trunkline run, cold (no workflow cache)",
      cmd: process.execPath,
      args: [join(ROOT, "dist", "trunkline.js"), "run", "-C", dir, "--run-dir", join(dir, ".run")],
      options: { env: { XDG_CACHE_HOME: "/dev/null" } },
    },
    {
      name: "gitlab-ci-local 4.56.2 (shell executor)",
      cmd: join(peers, "node_modules", ".bin", "gitlab-ci-local"),
      args: ["--shell-isolation=false"],
      options: { cwd: dir },
    },
  ],
  rounds,
);
printTable(
  `50-job pipeline, ${rounds} interleaved rounds (${new Date().toISOString().slice(0, 10)})`,
  results,
);
const peer = results[2].medianMs;
console.log(
  `\nspeed-up: ${(peer / results[0].medianMs).toFixed(1)}x (cold ${(peer / results[1].medianMs).toFixed(1)}x)`,
);

// The server, measured end to end through the built executable, on SQLite and (when it
// answers) on Postgres:
// - push-to-first-step latency over 50 pushes of a one-step workflow: from `git push`
//   returning to the run being recorded, and to its first step starting (targets: the run
//   within 250 ms of the push; the median and p99 of the first step reported);
// - API latency with 50 concurrent clients (autocannon, from bench/peers), on a list of runs,
//   one run with its jobs, and /healthz (no token, no database) as the floor of the stack;
// - resident memory of the idle server, fresh and after the pushes (target under 100 MB);
//   V8 returns memory only after some idle seconds, so both 3 s and 30 s after are shown.
// No peer CI server runs on this machine (Gitea, GitLab and Woodpecker need images or
// binaries this machine cannot fetch), so the figures stand beside their targets.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  benchEnv,
  ensureBuilt,
  ensurePeers,
  median,
  POSTGRES,
  percentile,
  postgresDatabase,
  ROOT,
} from "./lib.mjs";

const PUSHES = Number(process.env.PUSHES ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
ensureBuilt();
const autocannon = createRequire(join(ensurePeers(), "package.json"))("autocannon");

async function startServer(dataDir, database, nodeArgs = []) {
  const args = [
    ...nodeArgs,
    join(ROOT, "dist", "trunkline.js"),
    "serve",
    "--port",
    "0",
    "--data-dir",
    dataDir,
  ];
  if (database) args.push("--database", database);
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: benchEnv(),
  });
  let stderr = "";
  child.stderr.on("data", (b) => {
    stderr += b;
  });
  const base = await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /serving on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 10);
    child.on("exit", () => reject(new Error(stderr)));
  });
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  return { child, base, token };
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function measure(dialect, database, { nodeArgs = [], load = true } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-bench-server-"));
  const server = await startServer(dataDir, database?.url, nodeArgs);
  const api = async (method, path, body) => {
    const r = await fetch(`${server.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? undefined : r.json();
  };
  await new Promise((r) => setTimeout(r, 2000));
  const freshRss = rssMiB(server.child.pid);
  await api("POST", "/api/v1/repositories", { name: "bench" });

  const work = mkdtempSync(join(tmpdir(), "trunkline-bench-work-"));
  mkdirSync(join(work, ".github", "workflows"), { recursive: true });
  writeFileSync(
    join(work, ".github", "workflows", "ci.yml"),
    "on: push\njobs:\n  one:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n",
  );
  const git = (...args) =>
    execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...args], {
      cwd: work,
      encoding: "utf8",
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "ci");
  const remote = `${server.base.replace("://", `://x:${server.token}@`)}/git/bench.git`;

  const recorded = [];
  const firstStep = [];
  const pushMs = [];
  for (let i = -3; i < PUSHES; i++) {
    git("commit", "-q", "--allow-empty", "-m", `push ${i}`);
    const sha = git("rev-parse", "HEAD").trim();
    const started = Date.now();
    const push = spawnSync("git", ["push", "-q", remote, "main"], { cwd: work });
    if (push.status !== 0) throw new Error(String(push.stderr));
    const pushed = Date.now();
    let step;
    let run;
    for (;;) {
      [run] = await api("GET", "/api/v1/repositories/bench/runs?limit=1");
      if (run?.sha === sha && ["success", "failure"].includes(run.status)) {
        const shown = await api("GET", `/api/v1/runs/${run.id}`);
        const job = await api("GET", `/api/v1/jobs/${shown.jobs[0].id}`);
        step = job.steps.find((s) => s.stage === "main") ?? job.steps[0];
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (run.status !== "success") throw new Error(`run ${run.id} ${run.status}`);
    if (i < 0) continue; // warm-up
    pushMs.push(pushed - started);
    recorded.push(run.createdAt - pushed);
    firstStep.push(step.startedAt - pushed);
  }
  // V8 gives memory back once the process has been idle for a while (its memory reducer).
  await new Promise((r) => setTimeout(r, 3000));
  const busyRss = rssMiB(server.child.pid);
  await new Promise((r) => setTimeout(r, 30_000));
  const idleRss = rssMiB(server.child.pid);

  const [someRun] = await api("GET", "/api/v1/repositories/bench/runs?limit=1");
  const loadOf = async (path, auth = true) => {
    const result = await autocannon({
      url: `${server.base}${path}`,
      connections: 50,
      duration: SECONDS,
      headers: auth ? { authorization: `Bearer ${server.token}` } : {},
    });
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { path, p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average };
  };
  const apiRows = load
    ? [
        await loadOf("/healthz", false),
        await loadOf("/api/v1/repositories/bench/runs"),
        await loadOf(`/api/v1/runs/${someRun.id}`),
      ]
    : [];
  const loadedRss = rssMiB(server.child.pid);
  server.child.kill("SIGTERM");
  await new Promise((r) => server.child.on("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  return { dialect, recorded, firstStep, pushMs, freshRss, busyRss, idleRss, loadedRss, apiRows };
}

const results = [await measure("sqlite")];
// The same server with a 2 MB young generation (V8's default grows it to 16 MB per
// semi-space under load and keeps it): memory only.
const small = await measure("sqlite, --max-semi-space-size=2", undefined, {
  nodeArgs: ["--max-semi-space-size=2"],
  load: false,
});
const database = await postgresDatabase();
if (database) {
  try {
    results.push(await measure("postgres", database));
  } finally {
    await database.drop();
  }
} else console.log(`(Postgres skipped: nothing answers at ${POSTGRES})`);

console.log(
  `\nPush to first step, ${PUSHES} pushes of a one-step workflow (ms after \`git push\` returned; negative = before)\n`,
);
console.log(
  "| store | git push itself, median | run recorded, median / p99 | first step started, median / p99 |",
);
console.log("| --- | ---: | ---: | ---: |");
for (const r of results)
  console.log(
    `| ${r.dialect} | ${median(r.pushMs)} | ${median(r.recorded)} / ${percentile(r.recorded, 99)} | ${median(r.firstStep)} / ${percentile(r.firstStep, 99)} |`,
  );
console.log(`\nAPI under 50 concurrent clients, ${SECONDS} s each (autocannon)\n`);
console.log("| store | route | p50 ms | p99 ms | requests/s |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const r of results)
  for (const a of r.apiRows)
    console.log(
      `| ${r.dialect} | ${a.path.replace(/[0-9a-f-]{36}/, ":id")} | ${a.p50} | ${a.p99} | ${Math.round(a.rps)} |`,
    );
results.push(small);
console.log("\nServer resident memory (MiB)\n");
console.log("| server | fresh, idle | 30 s after the last run | right after the API load |");
console.log("| --- | ---: | ---: | ---: |");
for (const r of results)
  console.log(
    `| ${r.dialect} | ${r.freshRss.toFixed(1)} | ${r.idleRss.toFixed(1)} | ${r.loadedRss.toFixed(1)} |`,
  );

// Runner agents on this machine against the built server (no embedded runner), on SQLite
// and on Postgres, with 1, 2, 4 and 8 agents (capacity 1 each):
// - dispatch latency: from a job entering the queue to its first step starting on an agent
//   (median and p99; target p99 under 50 ms);
// - throughput: trivial jobs (one `true` step each) finished per second, for one run of
//   JOBS independent jobs (targets: 200/s on SQLite, 500/s on Postgres).
// Peers' published pickup figures, beside them: GitHub's runners long-poll about 50 s per
// cycle, Gitea's act_runner polls every 2 s by default (28 s average pickup reported), GitLab
// runners poll every 3 s. None of them can run here, so they are quoted, not measured.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import {
  benchEnv,
  ensureBuilt,
  median,
  POSTGRES,
  percentile,
  postgresDatabase,
  ROOT,
} from "./lib.mjs";

const JOBS = Number(process.env.JOBS ?? 100);
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const COUNTS = (process.env.AGENTS ?? "1,2,4,8").split(",").map(Number);
const BIN = join(ROOT, "dist", "trunkline.js");
ensureBuilt();

function waitForLine(child, text) {
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (b) => {
      err += b;
      const m = text.exec(err);
      if (m) resolve(m);
    });
    child.on("exit", () => reject(new Error(err)));
  });
}

/** Rows of (enqueued_at, first step started_at) for every job of a run. */
async function latencies(dialect, dataDir, url, runId) {
  const query = `SELECT q.enqueued_at AS queued, MIN(s.started_at) AS started
    FROM queue q JOIN jobs j ON j.run_id = q.run_id AND j.key = q.job_key AND j.attempt = q.attempt
    JOIN steps s ON s.job_id = j.id WHERE q.run_id = $1 GROUP BY q.id, q.enqueued_at`;
  if (dialect === "sqlite") {
    const db = new SQLite(join(dataDir, "trunkline.db"), { readonly: true });
    const rows = db.prepare(query.replace("$1", "?")).all(runId);
    db.close();
    return rows.map((r) => Number(r.started) - Number(r.queued));
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query(query, [runId]);
  await client.end();
  return rows.map((r) => Number(r.started) - Number(r.queued));
}

async function measure(dialect, agents, url) {
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-bench-agents-"));
  const args = [BIN, "serve", "--port", "0", "--data-dir", dataDir, "--runner-capacity", "0"];
  if (url) args.push("--database", url);
  const server = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: benchEnv(),
  });
  const [, base] = await waitForLine(server, /serving on (http:\/\/\S+)/);
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return r.status === 204 ? undefined : r.json();
  };
  await api("POST", "/api/v1/repositories", { name: "bench" });
  const children = [];
  for (let i = 0; i < agents; i++) {
    const child = spawn(
      process.execPath,
      [
        BIN,
        "agent",
        "--server",
        base,
        "--token",
        token,
        "--labels",
        "linux",
        "--work-dir",
        join(dataDir, `agent-${i}`),
        "--name",
        `a${i}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: benchEnv() },
    );
    children.push(child);
    await waitForLine(child, /waiting for jobs/);
  }
  const work = join(dataDir, "work");
  mkdirSync(join(work, ".github", "workflows"), { recursive: true });
  const jobs = Array.from(
    { length: JOBS },
    (_, i) => `  j${i}:\n    runs-on: linux\n    steps:\n      - run: 'true'`,
  );
  writeFileSync(
    join(work, ".github", "workflows", "many.yml"),
    `on: push\njobs:\n${jobs.join("\n")}\n`,
  );
  writeFileSync(
    join(work, ".github", "workflows", "one.yml"),
    "on: workflow_dispatch\njobs:\n  one:\n    runs-on: linux\n    steps:\n      - run: 'true'\n",
  );
  const git = (...a) =>
    execFileSync("git", ["-c", "user.email=b@e.com", "-c", "user.name=b", ...a], { cwd: work });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "many");
  // A warm-up push: agents fetch the commit once into their caches.
  git("push", "-q", `${base.replace("://", `://x:${token}@`)}/git/bench.git`, "main");
  // Waits for run number `number` (pushes and dispatches number runs one after another).
  const done = async (number) => {
    for (;;) {
      const [run] = await api("GET", "/api/v1/repositories/bench/runs?limit=1");
      if (run && run.number >= number && ["success", "failure", "cancelled"].includes(run.status)) {
        if (run.number !== number) throw new Error(`expected run #${number}, got #${run.number}`);
        return run;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await done(1);
  git("commit", "-q", "--allow-empty", "-m", "again");
  git("push", "-q", `${base.replace("://", `://x:${token}@`)}/git/bench.git`, "main");
  const run = await done(2);
  if (run.status !== "success") throw new Error(`run ${run.status}`);
  const ms = run.finishedAt - run.startedAt;
  // Dispatch latency: one job at a time, each finding the agents idle.
  const lat = [];
  for (let i = 0; i < ROUNDS; i++) {
    const answer = await api("POST", "/api/v1/repositories/bench/dispatch", {
      workflow: "one.yml",
    });
    if (!answer.runIds) throw new Error(JSON.stringify(answer));
    const { runIds } = answer;
    const one = await done(3 + i);
    if (one.id !== runIds[0] || one.status !== "success")
      throw new Error(`dispatch ${one.status} ${one.id} ${one.number} ${JSON.stringify(runIds)}`);
    lat.push(...(await latencies(dialect, dataDir, url, one.id)));
  }
  for (const c of children) c.kill("SIGTERM");
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
  return {
    dialect,
    agents,
    perSecond: (JOBS / ms) * 1000,
    p50: median(lat),
    p99: percentile(lat, 99),
  };
}

const rows = [];
for (const n of COUNTS) rows.push(await measure("sqlite", n));
for (const n of COUNTS) {
  const database = await postgresDatabase();
  if (!database) {
    console.log(`(Postgres skipped: nothing answers at ${POSTGRES})`);
    break;
  }
  try {
    rows.push(await measure("postgres", n, database.url));
  } finally {
    await database.drop();
  }
}
console.log(
  `\nRunner agents: ${JOBS} trivial jobs in one run, agents of capacity 1 on this machine\n`,
);
console.log(`(latency over ${ROUNDS} single-job runs with the agents idle)\n`);
console.log("| store | agents | dispatch latency median | p99 | jobs per second |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows)
  console.log(
    `| ${r.dialect} | ${r.agents} | ${r.p50} ms | ${r.p99} ms | ${r.perSecond.toFixed(1)} |`,
  );

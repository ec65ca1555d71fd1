// Shared helpers for the benchmarks: timing child processes, medians, peer installation.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Installs the peers of bench/peers (pinned in its lock file) if they are not there yet. */
export function ensurePeers() {
  const dir = join(ROOT, "bench", "peers");
  if (!existsSync(join(dir, "node_modules"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--silent"], {
      cwd: dir,
      stdio: "inherit",
    });
  }
  return dir;
}

/** Builds dist/trunkline.js if it is missing. */
export function ensureBuilt() {
  if (!existsSync(join(ROOT, "dist", "trunkline.js"))) {
    execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { stdio: "inherit" });
  }
}

/**
 * The environment every contender runs in: this one without `NODE_EXTRA_CA_CERTS`. This
 * machine sets it to the whole system bundle, which every Node process parses before its
 * first line runs (about 40 ms here, more than a trivial job); no contender makes a TLS
 * connection, and the peers being Node programs too, all are measured without it alike.
 * `BENCH_KEEP_ENV=1` keeps the environment as it is.
 */
export function benchEnv() {
  const env = { ...process.env, NO_COLOR: "1" };
  if (process.env.BENCH_KEEP_ENV !== "1") delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Runs a command once under /usr/bin/time and returns wall milliseconds and peak RSS (KiB).
 * Fails if the command's exit code is not `expectCode`, so a broken peer is never timed.
 */
export function timeOnce(cmd, args, { cwd = ROOT, expectCode = 0, env = {} } = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...benchEnv(), ...env },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== expectCode) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.status}, expected ${expectCode}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  const rssKiB = Number(r.stderr.trim().split("\n").pop());
  return { ms, rssKiB };
}

/** The median of a list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (nearest rank). */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Times several contenders, interleaved round by round so that machine noise falls on all
 * of them alike. Returns, per contender, the median and p90 wall time and the median peak RSS.
 */
export function race(contenders, rounds) {
  const samples = new Map(contenders.map((c) => [c.name, []]));
  for (const c of contenders) timeOnce(c.cmd, c.args, c.options); // warm the file cache
  for (let i = 0; i < rounds; i++) {
    for (const c of contenders) samples.get(c.name).push(timeOnce(c.cmd, c.args, c.options));
  }
  return contenders.map((c) => {
    const s = samples.get(c.name);
    return {
      name: c.name,
      medianMs: median(s.map((x) => x.ms)),
      p90Ms: percentile(
        s.map((x) => x.ms),
        90,
      ),
      rssMiB: median(s.map((x) => x.rssKiB)) / 1024,
    };
  });
}

/** Prints results as a Markdown table, with each contender's ratio to the first. */
export function printTable(title, results) {
  const base = results[0].medianMs;
  console.log(`\n${title}\n`);
  console.log("| contender | median ms | p90 ms | peak RSS MiB | ratio to first |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.medianMs.toFixed(1)} | ${r.p90Ms.toFixed(1)} | ${r.rssMiB.toFixed(1)} | ${(r.medianMs / base).toFixed(2)} |`,
    );
  }
}

/** Where the benchmarks' Postgres listens (trust auth); TRUNKLINE_TEST_POSTGRES overrides it. */
export const POSTGRES =
  process.env.TRUNKLINE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh Postgres database and how to drop it, or undefined when Postgres does not answer. */
export async function postgresDatabase() {
  const admin = new pg.Client({ connectionString: POSTGRES, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `trunkline_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

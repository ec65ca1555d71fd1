// Hostile workflow files, each validated by a cold `trunkline validate` process: how fast it
// refuses them and how much memory that takes (target: a clear error within a second,
// without exhausting memory). Beside it, the official parser alone, unguarded, on the same
// files, stopped after 10 s.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { benchEnv, ensureBuilt, median, ROOT } from "./lib.mjs";

const rounds = Number(process.env.ROUNDS ?? 5);
ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), "trunkline-hostile-"));
const tail = "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n";
let bomb = "on: push\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
for (let i = 1; i < 13; i++)
  bomb += `x${i}: &a${i} [${Array(10)
    .fill(`*a${i - 1}`)
    .join(", ")}]\n`;
const files = {
  "alias bomb, 13 levels": `${bomb}${tail}`,
  "10 MB file": `on: push\n${"# padding\n".repeat(1_048_576)}${tail}`,
  "flow nesting 10,000 deep": `on: push\nx: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n${tail}`,
  "block nesting 10,000 deep": `on: push\nx:\n${"- ".repeat(10_000)}y\n${tail}`,
  "100 KB expression": `on: push\n${tail.trimEnd()} \${{ ${"a".repeat(100_000)} }}\n`,
};

const unguarded = join(dir, "unguarded.mjs");
await build({
  entryPoints: [join(ROOT, "bench", "peers", "unguarded-parse.ts")],
  outfile: unguarded,
  bundle: true,
  platform: "node",
  format: "esm",
  logLevel: "error",
  banner: {
    js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
  },
});

function run(args, timeoutMs) {
  const start = process.hrtime.bigint();
  // `timeout` ends the process itself: killing /usr/bin/time would leave it running.
  const seconds = String(timeoutMs / 1000);
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%M", "timeout", "-s", "KILL", seconds, process.execPath, ...args],
    {
      encoding: "utf8",
      timeout: timeoutMs + 5_000,
      killSignal: "SIGKILL",
      // Every file read afresh: no workflow cache.
      env: { ...benchEnv(), XDG_CACHE_HOME: "/dev/null" },
    },
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rss = Number((r.stderr ?? "").trim().split("\n").pop());
  return {
    ms,
    rssMiB: Number.isFinite(rss) ? rss / 1024 : Number.NaN,
    timedOut: r.status === 137 || r.error?.code === "ETIMEDOUT" || r.signal === "SIGKILL",
    stdout: r.stdout,
  };
}

console.log(
  `\nhostile input, cold process, median of ${rounds} (${new Date().toISOString().slice(0, 10)})\n`,
);
console.log(
  "| file | trunkline ms | trunkline peak RSS MiB | trunkline says | official parser alone |",
);
console.log("| --- | ---: | ---: | --- | --- |");
for (const [name, content] of Object.entries(files)) {
  const path = join(dir, `${name.replace(/[^a-z0-9]+/gi, "-")}.yml`);
  writeFileSync(path, content);
  const runs = Array.from({ length: rounds }, () =>
    run([join(ROOT, "dist", "trunkline.js"), "validate", "-C", dir, path], 30_000),
  );
  const said = runs[0].stdout.split("\n")[0].replace(/^[^:]*:\d+:\d+: /, "");
  const peer = run([unguarded, path], 10_000);
  const peerText = peer.timedOut
    ? "still running after 10 s (stopped)"
    : `${peer.ms.toFixed(0)} ms, ${peer.rssMiB.toFixed(0)} MiB`;
  console.log(
    `| ${name} | ${median(runs.map((r) => r.ms)).toFixed(0)} | ${median(runs.map((r) => r.rssMiB)).toFixed(0)} | ${said} | ${peerText} |`,
  );
}

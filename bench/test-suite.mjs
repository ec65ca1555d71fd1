// The test suite's wall time (`vitest run --coverage`, both projects), on a machine made busy
// by HOGS processes spinning on a core each (default 2: both cores of this machine), with
// each worker count of WORKERS (default "1,3") in turn. Target: `npm test` under 15 minutes
// on a busy 2-core machine. Prints one row per worker count: seconds and the summary line.
// Not part of `npm run bench` (it takes minutes a run): `node bench/test-suite.mjs`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

const HOGS = Number(process.env.HOGS ?? 2);
const WORKERS = (process.env.WORKERS ?? "1,3").split(",").map(Number);

const dir = mkdtempSync(join(tmpdir(), "trunkline-suite-bench-"));
try {
  for (const workers of WORKERS) {
    const hogs = Array.from({ length: HOGS }, () =>
      spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }),
    );
    const report = join(dir, `report-${workers}.json`);
    const start = process.hrtime.bigint();
    const run = spawnSync(
      "npx",
      [
        "vitest",
        "run",
        "--coverage",
        `--maxWorkers=${workers}`,
        "--reporter=json",
        `--outputFile.json=${report}`,
      ],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "ignore", "ignore"] },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    for (const hog of hogs) hog.kill("SIGKILL");
    const summary = spawnSync(process.execPath, ["scripts/test-summary.mjs", report], {
      cwd: ROOT,
      encoding: "utf8",
    }).stdout.trim();
    console.log(
      `workers ${workers}, ${HOGS} busy cores: ${seconds.toFixed(0)} s (exit ${run.status}), ${summary}`,
    );
    // A failure is named, with the start of its message, so a slow or flaky test is seen.
    const results = JSON.parse(readFileSync(report, "utf8")).testResults;
    for (const file of results) {
      if (file.status === "failed" && file.message)
        console.log(`  ${file.name}: ${file.message.slice(0, 300)}`);
      for (const test of file.assertionResults)
        if (test.status === "failed")
          console.log(
            `  ${file.name} > ${test.title}: ${(test.failureMessages ?? []).join(" ").slice(0, 300)}`,
          );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

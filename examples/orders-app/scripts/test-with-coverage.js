// Runs the unit tests with Node's coverage and fails below 80% of lines: the guide's gate
// ("unit tests: >80% coverage, all passing"). Node 20 has no coverage threshold flag.
import { spawnSync } from "node:child_process";

const MIN = Number(process.env.MIN_LINE_COVERAGE ?? 80);
const run = spawnSync(
  process.execPath,
  ["--test", "--experimental-test-coverage", "--test-reporter=spec", "test/unit/"],
  { encoding: "utf8" },
);
process.stdout.write(run.stdout);
process.stderr.write(run.stderr);
if (run.status !== 0) process.exit(run.status ?? 1);
const all = /all files\s*\|\s*([\d.]+)/.exec(run.stdout);
if (!all) {
  console.log("::error::no coverage figure in the test output");
  process.exit(1);
}
const lines = Number(all[1]);
console.log(`line coverage ${lines}% (minimum ${MIN}%)`);
if (process.env.GITHUB_STEP_SUMMARY) {
  const { appendFileSync } = await import("node:fs");
  appendFileSync(
    process.env.GITHUB_STEP_SUMMARY,
    `### Unit tests\n\nLine coverage: **${lines}%** (minimum ${MIN}%)\n`,
  );
}
if (lines < MIN) {
  console.log(`::error::line coverage ${lines}% is below ${MIN}%`);
  process.exit(1);
}

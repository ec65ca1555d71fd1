import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
// @ts-expect-error: a plain ESM script without types, run by .ci/run.
import { summary } from "../scripts/test-summary.mjs";
import { tempDirs } from "./helpers/temp-dirs.js";

const dirs = tempDirs("summary");

const report = (passed: number, failed: number, pending: number, todo: number, suites = 0) => ({
  numPassedTests: passed,
  numFailedTests: failed,
  numPendingTests: pending,
  numTodoTests: todo,
  numFailedTestSuites: suites,
});

test.each([
  [report(10, 0, 0, 0), "10 passed, 0 failed, 0 skipped"],
  [report(10, 2, 3, 1), "10 passed, 2 failed, 4 skipped"],
  // A file that could not load has no failed test of its own: it still fails the run.
  [report(10, 0, 0, 0, 1), "10 passed, 1 failed, 0 skipped"],
  [report(10, 2, 0, 0, 1), "10 passed, 2 failed, 0 skipped"],
])("CI's summary line of %o is %s", (json, line) => {
  expect(summary(json)).toBe(line);
});

test("the script prints the line of a report file", () => {
  const file = join(dirs.make(), "report.json");
  writeFileSync(file, JSON.stringify(report(3, 1, 2, 0)));
  expect(
    execFileSync(process.execPath, ["scripts/test-summary.mjs", file], { encoding: "utf8" }),
  ).toBe("3 passed, 1 failed, 2 skipped\n");
});

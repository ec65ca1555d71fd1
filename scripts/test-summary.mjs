#!/usr/bin/env node
// Prints the plain "N passed, N failed, N skipped" line CI reads, from Vitest's JSON report
// (argv[2]). A file that failed to load counts as one failure when no test failed, so a
// broken suite never reads as green; skipped and todo tests are counted, never hidden.
import { readFileSync } from "node:fs";

/** The summary line of a Vitest JSON report. */
export function summary(report) {
  const failed =
    report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
  const skipped = report.numPendingTests + report.numTodoTests;
  return `${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summary(JSON.parse(readFileSync(process.argv[2], "utf8"))));
}

import { expect, test } from "vitest";
import { shouldRetryLost } from "./retry-lost.js";

const lost = { status: "failure", reason: "runner_lost" };
const script = { status: "failure", reason: null };
const ok = { status: "success", reason: null };
const skipped = { status: "skipped", reason: null };

test.each([
  ["a lost runner, first attempt, one retry allowed", "failure", 1, [lost, skipped, ok], 1, true],
  ["a lost runner, its retry lost again, one retry allowed", "failure", 2, [lost], 1, false],
  ["a lost runner, second attempt, two retries allowed", "failure", 2, [lost], 2, true],
  ["retries off", "failure", 1, [lost], 0, false],
  ["a script failed beside the lost runner", "failure", 1, [lost, script], 3, false],
  ["only a script failure", "failure", 1, [script], 3, false],
  ["a cancelled run", "cancelled", 1, [lost], 3, false],
  ["a run that succeeded", "success", 1, [ok], 3, false],
  ["a failed run with no failed job (an error of the run itself)", "failure", 1, [ok], 3, false],
  [
    "another infrastructure reason is not retried",
    "failure",
    1,
    [{ status: "failure", reason: "server_restarted" }],
    3,
    false,
  ],
] as const)("%s", (_, status, attempt, jobs, retries, expected) => {
  expect(shouldRetryLost({ status, attempt }, jobs, retries)).toBe(expected);
});

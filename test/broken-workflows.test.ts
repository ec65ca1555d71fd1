import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatDiagnostic } from "../src/common/diagnostic.js";
import { readWorkflow } from "../src/workflow/read-workflow.js";

const DIR = join(import.meta.dirname, "fixtures", "broken");

/**
 * Broken workflows, each with every message `trunkline validate` must print for it, exactly,
 * as `file:line:col: message`. All mistakes of a file are reported at once.
 */
const CASES: [fixture: string, expected: string[]][] = [
  [
    "yaml-syntax.yml",
    [
      "broken/yaml-syntax.yml:5:1: All mapping items must start at the same column",
      "broken/yaml-syntax.yml:6:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
  ],
  ["tab-indent.yml", ["broken/tab-indent.yml:3:1: Tabs are not allowed as indentation"]],
  ["empty.yml", ["broken/empty.yml:1:1: Expected a scalar value, a sequence, or a mapping"]],
  ["not-a-mapping.yml", ["broken/not-a-mapping.yml:1:1: A sequence was not expected"]],
  ["missing-on.yml", ["broken/missing-on.yml:1:1: Required property is missing: on"]],
  ["unknown-event.yml", ["broken/unknown-event.yml:1:12: Unexpected value 'pul_request'"]],
  ["unknown-key.yml", ["broken/unknown-key.yml:5:5: Unexpected value 'stepz'"]],
  [
    "missing-runs-on.yml",
    ["broken/missing-runs-on.yml:4:5: Required property is missing: runs-on"],
  ],
  [
    "no-steps.yml",
    [
      "broken/no-steps.yml:3:3: job 'a' has no steps; give it steps: or call a reusable workflow with uses:",
    ],
  ],
  [
    "step-without-action.yml",
    [
      "broken/step-without-action.yml:6:9: There's not enough info to determine what you meant. Add one of these properties: run, shell, uses, with, working-directory",
    ],
  ],
  [
    "wrong-types.yml",
    [
      "broken/wrong-types.yml:5:22: Unexpected value 'soon'",
      "broken/wrong-types.yml:6:24: Unexpected value 'perhaps'",
      "broken/wrong-types.yml:9:26: A sequence was not expected",
    ],
  ],
  [
    "invalid-job-id.yml",
    [
      "broken/invalid-job-id.yml:3:3: The identifier '1st-job' is invalid. IDs may only contain alphanumeric characters, '_', and '-'. IDs must start with a letter or '_' and and must be less than 100 characters.",
    ],
  ],
  ["duplicate-job.yml", ["broken/duplicate-job.yml:6:3: 'test' is already defined"]],
  [
    "duplicate-step-id.yml",
    [
      "broken/duplicate-step-id.yml:8:13: The identifier 'build' may not be used more than once within the same scope.",
    ],
  ],
  [
    "unknown-need.yml",
    ["broken/unknown-need.yml:7:20: Job 'deploy' depends on unknown job 'tset'."],
  ],
  [
    "need-cycle.yml",
    [
      "broken/need-cycle.yml:7:20: Job 'b' depends on job 'c' which creates a cycle in the dependency graph.",
      "broken/need-cycle.yml:11:12: Job 'c' depends on job 'b' which creates a cycle in the dependency graph.",
    ],
  ],
  [
    "all-jobs-need.yml",
    [
      "broken/all-jobs-need.yml:3:3: The workflow must contain at least one job with no dependencies.",
    ],
  ],
  ["bad-if.yml", ["broken/bad-if.yml:5:9: Unexpected end of expression: '=='"]],
  [
    "bad-uses.yml",
    [
      "broken/bad-uses.yml:6:15: Expected format {owner}/{repo}[/path]@ref, ./path or docker://image. Actual 'actions/checkout'",
      "broken/bad-uses.yml:7:15: Expected format {owner}/{repo}[/path]@ref, ./path or docker://image. Actual 'badrepo@x'",
    ],
  ],
  [
    "bad-expressions.yml",
    [
      "broken/bad-expressions.yml:6:14: The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found.",
      "broken/bad-expressions.yml:7:19: Unrecognized named-value: 'nope'",
      "broken/bad-expressions.yml:8:19: Unrecognized function: 'fromJSONN'",
      "broken/bad-expressions.yml:9:19: Too few parameters supplied: 'contains'",
    ],
  ],
  [
    "bad-cron.yml",
    [
      "broken/bad-cron.yml:3:13: cron '* * *' has 3 fields; it needs 5: minute hour day-of-month month day-of-week",
      "broken/bad-cron.yml:4:13: cron '61 * * * *': minute 61 is out of range 0-59",
      "broken/bad-cron.yml:5:13: cron '0 0 * * 8': day of week 8 is out of range 0-6",
    ],
  ],
  [
    "bad-patterns.yml",
    [
      "broken/bad-patterns.yml:3:16: invalid on.push.branches pattern '[]x': empty brackets '[]'",
      "broken/bad-patterns.yml:3:23: invalid on.push.branches pattern 'release/[z-a]': range 'z-a' must stay within a-z, A-Z or 0-9",
      "broken/bad-patterns.yml:4:12: invalid on.push.tags pattern 'v\\': '\\' at the end escapes nothing",
      "broken/bad-patterns.yml:6:13: invalid on.pull_request.paths pattern 'src/**+': '+' must follow a character or a [set]",
    ],
  ],
  [
    "exclusive-filters.yml",
    [
      "broken/exclusive-filters.yml:4:23: on.push cannot use both 'branches' and 'branches-ignore'; use '!' patterns in 'branches' instead",
      "broken/exclusive-filters.yml:6:20: on.push cannot use both 'paths' and 'paths-ignore'; use '!' patterns in 'paths' instead",
    ],
  ],
  [
    "matrix-errors.yml",
    [
      "broken/matrix-errors.yml:7:13: matrix vector 'os' does not contain any values",
      "broken/matrix-errors.yml:10:13: matrix exclude key 'python' does not match any key within the matrix",
    ],
  ],
  [
    "matrix-too-large.yml",
    ["broken/matrix-too-large.yml:7:9: matrix creates 320 jobs; GitHub's limit is 256"],
  ],
  [
    "dispatch-inputs.yml",
    [
      "broken/dispatch-inputs.yml:5:9: Missing 'options' for choice input",
      "broken/dispatch-inputs.yml:8:18: input default must be a boolean, not a string",
    ],
  ],
  [
    "many-errors.yml",
    [
      "broken/many-errors.yml:4:16: invalid on.push.branches pattern '[]': empty brackets '[]'",
      "broken/many-errors.yml:9:19: Unrecognized named-value: 'nope'",
      "broken/many-errors.yml:11:12: Job 'deploy' depends on unknown job 'buidl'.",
      "broken/many-errors.yml:15:14: matrix vector 'env' does not contain any values",
      "broken/many-errors.yml:17:3: job 'lint' has no steps; give it steps: or call a reusable workflow with uses:",
    ],
  ],
];

describe("broken workflows: every problem, at its file:line:col", () => {
  test.each(CASES)("%s", async (fixture, expected) => {
    const content = readFileSync(join(DIR, fixture), "utf8");
    const result = await readWorkflow(`broken/${fixture}`, content);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual(expected);
    expect(result.diagnostics.every((d) => d.severity === "error")).toBe(true);
  });

  test("every fixture in the folder is in the table", async () => {
    const { readdirSync } = await import("node:fs");
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith(".yml"))
      .sort();
    expect(files).toEqual(CASES.map(([f]) => f).sort());
  });
});

import { describe, expect, test } from "vitest";
import { formatDiagnostic } from "../common/diagnostic.js";
import { checkInputLimits, DEFAULT_INPUT_LIMITS } from "./input-limits.js";
import { readWorkflow } from "./read-workflow.js";

/** 13 levels of ten aliases each: 10^13 nodes once expanded. */
function aliasBomb(levels = 13): string {
  let text = "on: push\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (let i = 1; i < levels; i++)
    text += `x${i}: &a${i} [${Array(10)
      .fill(`*a${i - 1}`)
      .join(", ")}]\n`;
  return `${text}jobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n`;
}

const VALID_TAIL = "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n";

// Each hostile file is refused by the guard with one clear diagnostic, before the official
// parser (which expands aliases and recurses without limits) ever sees it.
const HOSTILE: [name: string, content: string, expected: string][] = [
  [
    "alias bomb",
    aliasBomb(),
    "bomb.yml:7:10: aliases expand to more than 200000 nodes (an alias bomb?); refusing to read further",
  ],
  [
    "10 MB file",
    `on: push\n${"# padding\n".repeat(1_048_576)}${VALID_TAIL}`,
    "big.yml:1:1: file is 10.0 MiB; the limit is 1.0 MiB",
  ],
  [
    "flow nesting 10,000 deep",
    `on: push\nx: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n${VALID_TAIL}`,
    "deep.yml:2:260: nesting is deeper than 256 levels",
  ],
  [
    "block nesting 10,000 deep",
    `on: push\nx:\n${"- ".repeat(10_000)}y\n${VALID_TAIL}`,
    "deep.yml:3:1: nesting is deeper than 256 levels",
  ],
  [
    "map nesting 10,000 deep",
    `on: push\nx: ${"{a: ".repeat(10_000)}1${"}".repeat(10_000)}\n${VALID_TAIL}`,
    "deep.yml:2:1028: nesting is deeper than 256 levels",
  ],
  [
    "100 KB expression",
    `on: push\n${VALID_TAIL.trimEnd()} \${{ ${"a".repeat(100_000)} }}\n`,
    "expr.yml:6:19: expression is 100007 characters long; the limit is 21000",
  ],
  [
    "100 KB expression never closed",
    `on: push\n${VALID_TAIL.trimEnd()} \${{ ${"a".repeat(100_000)}\n`,
    "expr.yml:6:19: expression is 100005 characters long; the limit is 21000",
  ],
];

describe("hostile input is refused by the guard", () => {
  test.each(HOSTILE)("%s", async (name, content, expected) => {
    const file = expected.slice(0, expected.indexOf(":"));
    const guard = checkInputLimits(file, content);
    expect(guard.map(formatDiagnostic)).toEqual([expected]);
    // The whole reader stops there too, and reports the same single problem.
    const read = await readWorkflow(file, content);
    expect(read.workflow).toBeUndefined();
    expect(read.diagnostics.map(formatDiagnostic), name).toEqual([expected]);
  });
});

describe("ordinary files pass the guard", () => {
  test("a workflow with anchors and aliases of modest size is read", async () => {
    const content = `on: push\njobs:\n  a:\n    runs-on: &os ubuntu-latest\n    steps: &steps\n      - run: echo a\n  b:\n    runs-on: *os\n    steps: *steps\n`;
    expect(checkInputLimits("ok.yml", content)).toEqual([]);
    const read = await readWorkflow("ok.yml", content);
    expect(read.diagnostics).toEqual([]);
    expect(read.workflow?.jobs.map((j) => j.id)).toEqual(["a", "b"]);
  });

  test("brackets inside quoted strings and block scalars do not count as nesting", () => {
    const content = `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo '${"[".repeat(400)}'\n`;
    expect(checkInputLimits("ok.yml", content)).toEqual([]);
  });

  test("limits can be tightened", () => {
    const limits = { ...DEFAULT_INPUT_LIMITS, maxExpandedNodes: 10 };
    const out = checkInputLimits("small.yml", "a: &x [1, 2, 3, 4]\nb: [*x, *x, *x]\n", limits);
    expect(out.map((d) => d.code)).toEqual(["workflow/limit"]);
  });
});

import { describe, expect, test } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { deepEqual, expandMatrix } from "./matrix.js";

async function expand(strategy: string) {
  const wf = await workflowFrom(
    `on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n${strategy}\n    steps: [{ run: echo }]\n`,
  );
  return expandMatrix(wf.jobs[0]?.strategy);
}

describe("matrix expansion with GitHub's rules", () => {
  test("cartesian product in file order", async () => {
    expect(await expand("      matrix:\n        os: [a, b]\n        v: [1, 2]")).toEqual({
      kind: "expanded",
      combinations: [
        { os: "a", v: 1 },
        { os: "a", v: 2 },
        { os: "b", v: 1 },
        { os: "b", v: 2 },
      ],
    });
  });

  test("exclude removes partial matches", async () => {
    const r = await expand(
      "      matrix:\n        os: [a, b]\n        v: [1, 2]\n        exclude:\n          - os: a\n            v: 2\n          - os: b",
    );
    expect(r).toEqual({ kind: "expanded", combinations: [{ os: "a", v: 1 }] });
  });

  // The example of GitHub's docs ("Expanding or adding matrix configurations").
  test("include extends matching combinations and adds the rest", async () => {
    const r = await expand(
      [
        "      matrix:",
        "        fruit: [apple, pear]",
        "        animal: [cat, dog]",
        "        include:",
        "          - color: green",
        "          - color: pink",
        "            animal: cat",
        "          - fruit: apple",
        "            shape: circle",
        "          - fruit: banana",
        "          - fruit: banana",
        "            animal: cat",
      ].join("\n"),
    );
    expect(r).toEqual({
      kind: "expanded",
      combinations: [
        { fruit: "apple", animal: "cat", color: "pink", shape: "circle" },
        { fruit: "apple", animal: "dog", color: "green", shape: "circle" },
        { fruit: "pear", animal: "cat", color: "pink" },
        { fruit: "pear", animal: "dog", color: "green" },
        { fruit: "banana" },
        { fruit: "banana", animal: "cat" },
      ],
    });
  });

  test("include alone makes one job per entry", async () => {
    const r = await expand(
      "      matrix:\n        include:\n          - site: prod\n          - site: staging",
    );
    expect(r).toEqual({ kind: "expanded", combinations: [{ site: "prod" }, { site: "staging" }] });
  });

  test("a matrix from an expression is known only at run time", async () => {
    const r = await expand("      matrix: ${{ fromJSON(needs.setup.outputs.matrix) }}");
    expect(r.kind).toBe("runtime");
  });

  test("a vector from an expression is known only at run time", async () => {
    const r = await expand("      matrix:\n        os: ${{ fromJSON(vars.OSES) }}");
    expect(r).toEqual({ kind: "runtime", reason: "matrix 'os' is computed by an expression" });
  });

  test("no strategy, no matrix", () => {
    expect(expandMatrix(undefined)).toEqual({ kind: "none" });
  });

  test("object values compare structurally", () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });
});

import { describe, expect, test } from "vitest";
import { ExpressionError } from "../common/errors.js";
import { contextsUsed, evaluateExpression, functionsUsed, isTruthy } from "./evaluate.js";
import { coerceString, evaluateTemplate } from "./evaluate-template.js";

const CONTEXTS = {
  github: { ref: "refs/heads/main", event: { commits: [{ message: "a" }, { message: "b" }] } },
  matrix: { os: "linux", node: 20 },
  vars: { FLAG: "on" },
};

// [expression, result]: GitHub's operators, functions and coercions.
const CASES: [string, unknown][] = [
  ["github.ref == 'refs/heads/main'", true],
  ["GITHUB.REF", "refs/heads/main"],
  ["startsWith(github.ref, 'refs/heads/')", true],
  ["endsWith(github.ref, 'MAIN')", true],
  ["contains(github.event.commits.*.message, 'b')", true],
  ["format('{0}-{1}', matrix.os, matrix.node)", "linux-20"],
  ["join(github.event.commits.*.message, ',')", "a,b"],
  ["toJSON(matrix)", '{\n  "os": "linux",\n  "node": 20\n}'],
  ["fromJSON('[1, 2]')[1]", 2],
  ["matrix.node > 18 && 'yes' || 'no'", "yes"],
  ["vars.MISSING || 'default'", "default"],
  ["1 == '1'", true],
  ["null == 0", true],
  ["!''", true],
];

describe("expressions", () => {
  test.each(CASES)("%s", (expr, result) => {
    expect(evaluateExpression(expr, CONTEXTS)).toEqual(result);
  });

  test("status functions come from the caller", () => {
    const failed = { success: () => false, failure: () => true, cancelled: () => false };
    expect(evaluateExpression("failure() && !success()", {}, failed)).toBe(true);
    expect(evaluateExpression("always()", {}, failed)).toBe(true);
  });

  test("extra functions, e.g. hashFiles, are supplied by the caller", () => {
    expect(
      evaluateExpression("hashFiles('a', 'b')", {}, undefined, {
        hashFiles: (...a) => a.join("+"),
      }),
    ).toBe("a+b");
  });

  test("errors are ExpressionErrors that quote the expression", () => {
    expect(() => evaluateExpression("fromJSON('{')", {})).toThrow(ExpressionError);
    expect(() => evaluateExpression("a ==", {})).toThrow(/invalid expression 'a =='/);
  });

  test("which contexts and functions an expression reads", () => {
    expect([...contextsUsed("needs.a.result == 'success' && github.ref")].sort()).toEqual([
      "github",
      "needs",
    ]);
    expect([...functionsUsed("always() || contains(github.ref, 'y')")].sort()).toEqual([
      "always",
      "contains",
    ]);
  });

  test("truthiness", () => {
    expect([false, 0, "", null, Number.NaN].map(isTruthy)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect([true, 1, "0", "false", [], {}].map(isTruthy)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  test("templates keep the type of a whole-value expression and build strings otherwise", () => {
    expect(evaluateTemplate({ kind: "expr", expr: "fromJSON('[1]')" }, {})).toEqual([1]);
    expect(
      evaluateTemplate(
        {
          kind: "map",
          entries: [
            ["a", { kind: "expr", expr: "format('v{0}', matrix.node)" }],
            [
              "b",
              {
                kind: "seq",
                items: [
                  { kind: "null" },
                  { kind: "boolean", value: true },
                  { kind: "number", value: 2 },
                ],
              },
            ],
          ],
        },
        CONTEXTS,
      ),
    ).toEqual({ a: "v20", b: [null, true, 2] });
    expect([null, 3, true, "s", { a: 1 }].map(coerceString)).toEqual([
      "",
      "3",
      "true",
      "s",
      '{\n  "a": 1\n}',
    ]);
  });
});

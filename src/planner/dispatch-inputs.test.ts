import { describe, expect, test } from "vitest";
import type { InputDefinition } from "../workflow/model.js";
import { resolveDispatchInputs } from "./dispatch-inputs.js";

const at = { line: 1, column: 1 };
const DEFS: InputDefinition[] = [
  { name: "target", type: "choice", required: true, options: ["dev", "prod"], at },
  { name: "dry-run", type: "boolean", required: false, default: true, at },
  { name: "count", type: "number", required: false, at },
  { name: "note", type: "string", required: false, at },
];

describe("workflow_dispatch inputs", () => {
  test("defaults fill gaps and values are typed", () => {
    expect(resolveDispatchInputs(DEFS, { target: "prod", count: "3" })).toEqual({
      ok: true,
      inputs: { target: "prod", "dry-run": true, count: 3, note: "" },
    });
    expect(resolveDispatchInputs(DEFS, { target: "dev", "dry-run": "false" })).toMatchObject({
      ok: true,
      inputs: { "dry-run": false },
    });
  });

  test.each([
    [{}, ["input 'target' is required"]],
    [{ target: "qa" }, ["input 'target' must be one of dev, prod, not 'qa'"]],
    [{ target: "dev", "dry-run": "yes" }, ["input 'dry-run' must be true or false, not 'yes'"]],
    [{ target: "dev", count: "many" }, ["input 'count' must be a number, not 'many'"]],
    [
      { target: "dev", extra: "1" },
      ["unexpected input 'extra'; the workflow defines target, dry-run, count, note"],
    ],
  ])("%j is refused", (given, errors) => {
    expect(resolveDispatchInputs(DEFS, given)).toEqual({ ok: false, errors });
  });

  test("a workflow without inputs refuses any", () => {
    expect(resolveDispatchInputs([], { a: "1" })).toEqual({
      ok: false,
      errors: ["unexpected input 'a'; the workflow defines no inputs"],
    });
  });
});

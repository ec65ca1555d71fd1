import { describe, expect, it } from "vitest";
import type { InputDefinition } from "../workflow/model.js";
import { resolveCallInputs } from "./call-inputs.js";

const at = { line: 1, column: 1 };
const defs: InputDefinition[] = [
  { name: "target", type: "string", required: true, at },
  { name: "dry-run", type: "boolean", required: false, default: false, at },
  { name: "replicas", type: "number", required: false, default: 2, at },
  { name: "note", type: "string", required: false, at },
  { name: "flag", type: "boolean", required: false, at },
];

describe("resolveCallInputs", () => {
  it.each([
    [
      "defaults fill what is not given; optional inputs without one are empty",
      { target: "x" },
      { target: "x", "dry-run": false, replicas: 2, note: "", flag: false },
    ],
    [
      "typed values are kept",
      { target: "x", "dry-run": true, replicas: 5 },
      { target: "x", "dry-run": true, replicas: 5, note: "", flag: false },
    ],
    [
      "a string input takes numbers and booleans as text",
      { target: 20, note: true },
      { target: "20", "dry-run": false, replicas: 2, note: "true", flag: false },
    ],
    [
      "names match whatever their case",
      { TARGET: "x" },
      { target: "x", "dry-run": false, replicas: 2, note: "", flag: false },
    ],
  ])("%s", (_what, given, inputs) => {
    expect(resolveCallInputs(defs, given)).toEqual({ ok: true, inputs });
  });

  it.each([
    ["a required input is missing", {}, "input 'target' is required but was not given"],
    ["an input is not defined", { target: "x", colour: "red" }, "input 'colour' is not defined"],
    [
      "a boolean input is given a string",
      { target: "x", "dry-run": "true" },
      `input 'dry-run' must be a boolean, not "true" (string)`,
    ],
    [
      "a number input is given a string",
      { target: "x", replicas: "3" },
      `input 'replicas' must be a number, not "3" (string)`,
    ],
    ["a string input is given a mapping", { target: { a: 1 } }, "input 'target' must be a string"],
  ])("refuses the call when %s", (_what, given, message) => {
    const result = resolveCallInputs(defs, given);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.join("\n")).toContain(message);
  });
});

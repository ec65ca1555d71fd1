import { describe, expect, test } from "vitest";
import { BUILTIN_ACTIONS, findBuiltin } from "./index.js";

describe("findBuiltin", () => {
  test.each([
    ["actions/checkout@v4", "actions/checkout"],
    ["Actions/Checkout@main", "actions/checkout"],
    ["actions/setup-node@1d0ff469b7ec7b3cb9d8673fde0c81c44821de2a", "actions/setup-node"],
    ["actions/cache@v4", "actions/cache"],
    ["actions/cache/restore@v4", "actions/cache/restore"],
    ["actions/cache/save@v4", "actions/cache/save"],
    ["actions/upload-artifact@v4", "actions/upload-artifact"],
    ["actions/download-artifact@v4.1.8", "actions/download-artifact"],
    ["actions/checkout", "actions/checkout"],
  ])("%s is %s", (uses, name) => {
    expect(findBuiltin(uses)?.name).toBe(name);
  });

  test.each([
    "actions/cache/other@v4",
    "someone/checkout@v4",
    "./actions/checkout",
    "docker://alpine",
  ])("%s is not built in", (uses) => {
    expect(findBuiltin(uses)).toBeUndefined();
  });

  test("the registry is keyed by lower-cased names", () => {
    expect([...BUILTIN_ACTIONS.keys()].sort()).toEqual([
      "actions/cache",
      "actions/cache/restore",
      "actions/cache/save",
      "actions/checkout",
      "actions/download-artifact",
      "actions/setup-node",
      "actions/setup-python",
      "actions/upload-artifact",
    ]);
  });
});

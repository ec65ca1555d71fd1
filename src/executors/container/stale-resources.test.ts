import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { expect, test } from "vitest";
import { ownerIsGone } from "./stale-resources.js";

test("only a process of this machine that no longer exists counts as gone", () => {
  const dead = spawnSync("true").pid as number;
  expect(ownerIsGone(`${hostname()}:${dead}`)).toBe(true);
  expect(ownerIsGone(`${hostname()}:${process.pid}`)).toBe(false);
  expect(ownerIsGone(`some-other-machine:${dead}`)).toBe(false);
  expect(ownerIsGone("")).toBe(false);
  expect(ownerIsGone(`${hostname()}:not-a-pid`)).toBe(false);
});

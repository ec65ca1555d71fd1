import { expect, test } from "vitest";
import { PathMap } from "./path-map.js";

const map = new PathMap([
  { host: "/run/job/workspace", container: "/__w/app/app" },
  { host: "/run/job/runner", container: "/__w/_temp/_runner_file_commands" },
  { host: "/run/job/runner/event.json", container: "/github/workflow/event.json" },
]);

test("a mapped path, a path under it, and the most specific mapping win", () => {
  expect(map.toContainer("/run/job/workspace")).toBe("/__w/app/app");
  expect(map.toContainer("/run/job/workspace/src/a.ts")).toBe("/__w/app/app/src/a.ts");
  expect(map.toContainer("/run/job/runner/set_env_1")).toBe(
    "/__w/_temp/_runner_file_commands/set_env_1",
  );
  expect(map.toContainer("/run/job/runner/event.json")).toBe("/github/workflow/event.json");
});

test("anything else is left alone, including look-alike prefixes", () => {
  expect(map.toContainer("/run/job/workspace2")).toBe("/run/job/workspace2");
  expect(map.toContainer("hello /run/job/workspace")).toBe("hello /run/job/workspace");
  expect(map.toContainer("")).toBe("");
});

test("environment values are translated; PATH entry by entry", () => {
  expect(
    map.envToContainer({
      GITHUB_WORKSPACE: "/run/job/workspace",
      PATH: "/run/job/workspace/bin:/usr/bin",
      NAME: "x",
    }),
  ).toEqual({ GITHUB_WORKSPACE: "/__w/app/app", PATH: "/__w/app/app/bin:/usr/bin", NAME: "x" });
});

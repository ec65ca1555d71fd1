import { describe, expect, test } from "vitest";
import { DEFAULT_PERMISSIONS, effectivePermissions } from "./permissions.js";

describe("effective permissions", () => {
  test.each([
    [
      "nothing anywhere: the restricted default",
      undefined,
      undefined,
      { contents: "read", packages: "read", "id-token": "none", issues: "none" },
    ],
    [
      "the workflow's when the job has none",
      { "id-token": "write" },
      undefined,
      { "id-token": "write", contents: "none" },
    ],
    [
      "the job's wins over the workflow's",
      "write-all",
      { contents: "read" },
      { contents: "read", issues: "none", "id-token": "none" },
    ],
    [
      "write-all grants id-token",
      undefined,
      "write-all",
      { "id-token": "write", contents: "write" },
    ],
    [
      "read-all does not",
      "read-all",
      undefined,
      { "id-token": "none", contents: "read", statuses: "read" },
    ],
    ["{} grants nothing", {}, undefined, { contents: "none", packages: "none" }],
    ["id-token: read is none", undefined, { "id-token": "read" }, { "id-token": "none" }],
    [
      "unknown scopes and values are ignored",
      undefined,
      { bogus: "write", contents: "admin" },
      { contents: "none" },
    ],
  ])("%s", (_, workflow, job, expected) => {
    expect(effectivePermissions(workflow, job)).toMatchObject(expected);
  });

  test("a fork's pull request reads at most, and never gets an OIDC token", () => {
    const fork = effectivePermissions(undefined, "write-all", true);
    expect(fork).toMatchObject({ contents: "read", actions: "read", "id-token": "none" });
    expect(Object.values(fork)).not.toContain("write");
    expect(effectivePermissions(undefined, undefined, true)).toMatchObject({ contents: "read" });
  });

  test("the default names every scope", () => {
    expect(Object.keys(DEFAULT_PERMISSIONS)).toHaveLength(15);
  });
});

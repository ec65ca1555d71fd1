import { describe, expect, it } from "vitest";
import { parseWorkflowReference } from "./workflow-reference.js";

describe("parseWorkflowReference", () => {
  it.each([
    ["./.github/workflows/build.yml", { kind: "local", path: ".github/workflows/build.yml" }],
    ["./.github/workflows/./deploy.yaml", { kind: "local", path: ".github/workflows/deploy.yaml" }],
    [
      "octo/tools/.github/workflows/release.yml@v2",
      {
        kind: "remote",
        owner: "octo",
        repo: "tools",
        path: ".github/workflows/release.yml",
        ref: "v2",
      },
    ],
    [
      "octo/tools/.github/workflows/release.yml@feature/x",
      {
        kind: "remote",
        owner: "octo",
        repo: "tools",
        path: ".github/workflows/release.yml",
        ref: "feature/x",
      },
    ],
  ])("%s", (uses, expected) => {
    expect(parseWorkflowReference(uses)).toEqual(expected);
  });

  it.each([
    ["./ci/build.yml", "directly in .github/workflows"],
    ["./.github/workflows/../../etc/passwd.yml", "directly in .github/workflows"],
    ["./.github/workflows/sub/build.yml", "directly in .github/workflows"],
    ["./.github/workflows/build.json", "directly in .github/workflows"],
    ["octo/tools/.github/workflows/release.yml", "not a reusable workflow reference"],
    ["octo/tools@v1", "not a reusable workflow reference"],
    ["actions/checkout@v4", "not a reusable workflow reference"],
  ])("refuses %s", (uses, reason) => {
    const ref = parseWorkflowReference(uses);
    expect(ref.kind).toBe("invalid");
    expect(ref.kind === "invalid" ? ref.reason : "").toContain(reason);
  });
});

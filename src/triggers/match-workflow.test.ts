import { describe, expect, test } from "vitest";
import { withTrigger, workflowFrom } from "../../test/helpers/workflow.js";
import type { TriggerEvent } from "./event.js";
import { matchWorkflow } from "./match-workflow.js";

const SHA = "a".repeat(40);
const push = (ref: string, changedFiles?: string[]): TriggerEvent => ({
  name: "push",
  ref,
  sha: SHA,
  ...(changedFiles ? { changedFiles } : {}),
});
const pr = (baseRef: string, action = "opened", changedFiles?: string[]): TriggerEvent => ({
  name: "pull_request",
  ref: "refs/pull/7/merge",
  sha: SHA,
  baseRef,
  headRef: "feature/x",
  action,
  ...(changedFiles ? { changedFiles } : {}),
});

const wfRun = (name: string, headBranch: string): TriggerEvent => ({
  name: "workflow_run",
  ref: "refs/heads/main",
  sha: SHA,
  action: "completed",
  workflowRun: { name, headBranch },
});

// [description, on: block, event, fires]
const CASES: [string, string, TriggerEvent, boolean][] = [
  ["string form", "  push", push("refs/heads/main"), true],
  ["list form", "  [pull_request, push]", push("refs/heads/x"), true],
  ["bare push fires on tags", "  push:", push("refs/tags/v1"), true],
  ["push does not fire for pull_request", "  push:", pr("main"), false],
  [
    "branches filter matches",
    "  push:\n    branches: [main, 'releases/**']",
    push("refs/heads/releases/1/2"),
    true,
  ],
  ["branches filter misses", "  push:\n    branches: [main]", push("refs/heads/dev"), false],
  ["branch-only filter ignores tags", "  push:\n    branches: [main]", push("refs/tags/v1"), false],
  ["tag-only filter ignores branches", "  push:\n    tags: ['v*']", push("refs/heads/main"), false],
  ["tags filter matches", "  push:\n    tags: ['v*.*.*']", push("refs/tags/v1.2.3"), true],
  ["tags-ignore", "  push:\n    tags-ignore: ['*-rc*']", push("refs/tags/v1-rc1"), false],
  [
    "branches-ignore",
    "  push:\n    branches-ignore: ['wip/**']",
    push("refs/heads/wip/a/b"),
    false,
  ],
  [
    "branches-ignore lets others through",
    "  push:\n    branches-ignore: ['wip/**']",
    push("refs/heads/main"),
    true,
  ],
  [
    "negation: last match wins",
    "  push:\n    branches: ['releases/**', '!releases/**-alpha']",
    push("refs/heads/releases/1-alpha"),
    false,
  ],
  [
    "negation re-included",
    "  push:\n    branches: ['releases/**', '!releases/**-alpha', 'releases/keep-alpha']",
    push("refs/heads/releases/keep-alpha"),
    true,
  ],
  [
    "paths match one file",
    "  push:\n    paths: ['src/**']",
    push("refs/heads/main", ["README.md", "src/a.ts"]),
    true,
  ],
  [
    "paths match no file",
    "  push:\n    paths: ['src/**']",
    push("refs/heads/main", ["README.md"]),
    false,
  ],
  [
    "paths-ignore: all ignored",
    "  push:\n    paths-ignore: ['docs/**']",
    push("refs/heads/main", ["docs/a.md"]),
    false,
  ],
  [
    "paths-ignore: one not ignored",
    "  push:\n    paths-ignore: ['docs/**']",
    push("refs/heads/main", ["docs/a.md", "src/b.ts"]),
    true,
  ],
  [
    "paths with negation",
    "  push:\n    paths: ['sub/**', '!sub/docs/**']",
    push("refs/heads/main", ["sub/docs/x.md"]),
    false,
  ],
  [
    "paths are not evaluated for tags",
    "  push:\n    paths: ['src/**']",
    push("refs/tags/v1", ["README.md"]),
    true,
  ],
  [
    "unknown changed files: paths assumed to match",
    "  push:\n    paths: ['src/**']",
    push("refs/heads/main"),
    true,
  ],
  [
    "branches and paths both needed",
    "  push:\n    branches: [main]\n    paths: ['src/**']",
    push("refs/heads/dev", ["src/a"]),
    false,
  ],
  ["pull_request default types: opened", "  pull_request:", pr("main", "opened"), true],
  ["pull_request default types: synchronize", "  pull_request:", pr("main", "synchronize"), true],
  ["pull_request default types exclude closed", "  pull_request:", pr("main", "closed"), false],
  [
    "pull_request explicit types",
    "  pull_request:\n    types: [closed]",
    pr("main", "closed"),
    true,
  ],
  [
    "pull_request branches are base branches",
    "  pull_request:\n    branches: [main]",
    pr("main"),
    true,
  ],
  ["pull_request other base", "  pull_request:\n    branches: [main]", pr("develop"), false],
  [
    "pull_request paths",
    "  pull_request:\n    paths: ['api/**']",
    pr("main", "opened", ["web/x"]),
    false,
  ],
  [
    "workflow_dispatch",
    "  workflow_dispatch:",
    { name: "workflow_dispatch", ref: "refs/heads/main", sha: SHA },
    true,
  ],
  [
    "no workflow_dispatch",
    "  push:",
    { name: "workflow_dispatch", ref: "refs/heads/main", sha: SHA },
    false,
  ],
  [
    "schedule",
    "  schedule:\n    - cron: '0 3 * * *'",
    { name: "schedule", ref: "refs/heads/main", sha: SHA, cron: "0 3 * * *" },
    true,
  ],
  [
    "schedule of another cron",
    "  schedule:\n    - cron: '0 3 * * *'",
    { name: "schedule", ref: "refs/heads/main", sha: SHA, cron: "0 4 * * *" },
    false,
  ],
  [
    "push whose head commit says [skip ci]",
    "  push:",
    { ...push("refs/heads/main"), headCommitMessage: "docs [skip ci]" },
    false,
  ],
  [
    "pull_request whose head commit has a skip-checks trailer",
    "  pull_request:",
    { ...pr("main"), headCommitMessage: "Fix\n\nskip-checks: true" },
    false,
  ],
  [
    "pull_request_target is not skipped by [skip ci]",
    "  pull_request_target:",
    { ...pr("main"), name: "pull_request_target", headCommitMessage: "x [skip ci]" },
    true,
  ],
  [
    "workflow_dispatch is not skipped by [skip ci]",
    "  workflow_dispatch:",
    { name: "workflow_dispatch", ref: "refs/heads/main", sha: SHA, headCommitMessage: "[ci skip]" },
    true,
  ],
  [
    "workflow_run of a listened workflow",
    "  workflow_run:\n    workflows: [Build]\n    types: [completed]",
    wfRun("Build", "main"),
    true,
  ],
  [
    "workflow_run of another workflow",
    "  workflow_run:\n    workflows: [Build]",
    wfRun("Lint", "main"),
    false,
  ],
  [
    "workflow_run of another activity",
    "  workflow_run:\n    workflows: [Build]\n    types: [requested]",
    wfRun("Build", "main"),
    false,
  ],
  [
    "workflow_run without types listens to every activity",
    "  workflow_run:\n    workflows: [Build]",
    { ...wfRun("Build", "main"), action: "requested" },
    true,
  ],
  [
    "workflow_run on a branch its filter names",
    "  workflow_run:\n    workflows: [Build]\n    branches: [main, 'releases/**']",
    wfRun("Build", "releases/v2"),
    true,
  ],
  [
    "workflow_run on a branch its filter leaves out",
    "  workflow_run:\n    workflows: [Build]\n    branches-ignore: ['feature/**']",
    wfRun("Build", "feature/x"),
    false,
  ],
  [
    "push does not fire workflow_run workflows",
    "  workflow_run:\n    workflows: [Build]",
    push("refs/heads/main"),
    false,
  ],
  [
    "other event with types",
    "  issues:\n    types: [opened]",
    { name: "issues", ref: "refs/heads/main", sha: SHA, action: "opened" },
    true,
  ],
  [
    "other event, other type",
    "  issues:\n    types: [opened]",
    { name: "issues", ref: "refs/heads/main", sha: SHA, action: "closed" },
    false,
  ],
];

describe("which workflows an event triggers", () => {
  test.each(CASES)("%s", async (_name, on, event, fires) => {
    const workflow = await workflowFrom(withTrigger(on));
    const match = matchWorkflow(workflow, event);
    expect(match.fires, match.reason).toBe(fires);
  });

  test("reasons name the filter that decided", async () => {
    const workflow = await workflowFrom(withTrigger("  push:\n    branches: [main]"));
    expect(matchWorkflow(workflow, push("refs/heads/dev")).reason).toBe(
      "branch dev matches none of [main]",
    );
    expect(matchWorkflow(workflow, push("refs/tags/v1")).reason).toBe(
      "push filters branches only; tag v1 is ignored",
    );
    expect(
      matchWorkflow(workflow, { ...push("refs/heads/main"), headCommitMessage: "wip [no ci]" })
        .reason,
    ).toBe("the head commit's message says [no ci]");
  });
});

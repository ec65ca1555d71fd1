import { describe, expect, it } from "vitest";
import { readWebhook, webhookRepository } from "./webhook-event.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const ZERO = "0".repeat(40);

describe("readWebhook", () => {
  it.each([
    [
      "a branch push, with the files its commits touched",
      "push",
      {
        ref: "refs/heads/main",
        before: A,
        after: B,
        commits: [
          { added: ["src/new.ts"], removed: [], modified: ["README.md"] },
          { added: [], removed: ["old.txt"], modified: ["README.md"] },
        ],
      },
      {
        kind: "push",
        ref: "refs/heads/main",
        before: A,
        after: B,
        changedFiles: ["README.md", "old.txt", "src/new.ts"],
      },
    ],
    [
      "a new tag: no previous sha, no commits listed",
      "push",
      { ref: "refs/tags/v1.0.0", before: ZERO, after: B, commits: [] },
      { kind: "push", ref: "refs/tags/v1.0.0", before: ZERO, after: B },
    ],
    [
      "a deleted branch",
      "push",
      { ref: "refs/heads/old", before: A, after: ZERO },
      { kind: "ignored", reason: "push: refs/heads/old was deleted" },
    ],
    [
      "a push without a full ref",
      "push",
      { ref: "main", after: B },
      {
        kind: "ignored",
        reason: "push: 'ref' must be a full ref (refs/heads/... or refs/tags/...)",
      },
    ],
    [
      "a pull request from a branch of the same repository",
      "pull_request",
      {
        action: "opened",
        number: 7,
        pull_request: {
          base: { ref: "main", repo: { full_name: "acme/app" } },
          head: { ref: "feature/x", sha: A, repo: { full_name: "acme/app", fork: false } },
        },
      },
      {
        kind: "pull_request",
        action: "opened",
        number: 7,
        baseRef: "main",
        headRef: "feature/x",
        headSha: A,
        fromFork: false,
      },
    ],
    [
      "a pull request from a fork",
      "pull_request",
      {
        action: "synchronize",
        number: 8,
        pull_request: {
          base: { ref: "main", repo: { full_name: "acme/app" } },
          head: { ref: "main", sha: A, repo: { full_name: "mallory/app", fork: true } },
        },
      },
      {
        kind: "pull_request",
        action: "synchronize",
        number: 8,
        baseRef: "main",
        headRef: "main",
        headSha: A,
        fromFork: true,
      },
    ],
    [
      "a pull request whose fork was deleted",
      "pull_request",
      {
        action: "reopened",
        number: 9,
        pull_request: {
          base: { ref: "main", repo: { full_name: "acme/app" } },
          head: { ref: "x", sha: A, repo: null },
        },
      },
      {
        kind: "pull_request",
        action: "reopened",
        number: 9,
        baseRef: "main",
        headRef: "x",
        headSha: A,
        fromFork: true,
      },
    ],
    [
      "a pull request without a head sha",
      "pull_request",
      { action: "opened", number: 1, pull_request: { base: { ref: "main" }, head: { ref: "x" } } },
      {
        kind: "ignored",
        reason: "pull_request: 'pull_request.head.sha' must be a 40-character commit sha",
      },
    ],
    [
      "a created tag",
      "create",
      { ref: "v2", ref_type: "tag" },
      { kind: "create", ref: "refs/tags/v2" },
    ],
    [
      "a deleted branch (delete event)",
      "delete",
      { ref: "topic", ref_type: "branch" },
      { kind: "delete", ref: "refs/heads/topic" },
    ],
    [
      "a dispatch with inputs of several types",
      "workflow_dispatch",
      {
        workflow: ".github/workflows/deploy.yml",
        ref: "refs/heads/main",
        inputs: { env: "staging", dry: true, count: 3 },
      },
      {
        kind: "workflow_dispatch",
        workflow: ".github/workflows/deploy.yml",
        ref: "refs/heads/main",
        inputs: { env: "staging", dry: "true", count: "3" },
      },
    ],
    [
      "a ping",
      "ping",
      { zen: "Keep it simple." },
      { kind: "ignored", reason: "ping: nothing to run" },
    ],
    [
      "an event this server does not run",
      "issues",
      { action: "opened" },
      { kind: "ignored", reason: "'issues' deliveries start no runs here" },
    ],
  ])("%s", (_title, event, payload, expected) => {
    expect(readWebhook(event, payload)).toEqual(expected);
  });

  it("reads the repository a delivery names", () => {
    expect(webhookRepository({ repository: { full_name: "acme/app", name: "app" } })).toEqual({
      fullName: "acme/app",
      name: "app",
    });
    expect(webhookRepository({ repository: "nonsense" })).toEqual({});
  });
});

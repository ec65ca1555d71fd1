import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { committed, git } from "../../../test/helpers/git.js";
import { fetchFromRemote, mergeCommit, resolveCommit } from "./git-source.js";

describe("reading and fetching bare repositories", () => {
  test("a failed fetch never shows the remote's password", async () => {
    const bare = join(mkdtempSync(join(tmpdir(), "trunkline-git-source-")), "r.git");
    await git(tmpdir(), "init", "-q", "--bare", bare);
    const error = await fetchFromRemote(bare, "http://bot:hunter2@127.0.0.1:9/x.git", [
      "refs/heads/*:refs/heads/*",
    ]).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(error).toMatch(/^git fetch from http:\/\/bot:\*\*\*@127\.0\.0\.1:9\/x\.git failed: /);
    expect(error).not.toContain("hunter2");
  });

  test("refs that look like options are refused by git, not obeyed", async () => {
    const { dir } = await committed({ "a.txt": "a\n" });
    expect(await resolveCommit(dir, "--output=/tmp/x")).toBeUndefined();
    expect(await resolveCommit(dir, "main")).toMatch(/^[0-9a-f]{40}$/);
  });

  test("the merge commit of a pull request has base and head as parents; a conflict has none", async () => {
    const { dir, sha: base } = await committed({ "a.txt": "a\n" });
    await git(dir, "checkout", "-q", "-b", "topic");
    await git(dir, "commit", "-q", "--allow-empty", "-m", "topic");
    const head = (await git(dir, "rev-parse", "HEAD")).stdout.trim();
    const merge = await mergeCommit(dir, base, head, "merge");
    expect((await git(dir, "rev-list", "--parents", "-n", "1", merge ?? "")).stdout.trim()).toBe(
      `${merge} ${base} ${head}`,
    );
    await git(dir, "checkout", "-q", "main");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "a.txt"), "main\n");
    await git(dir, "commit", "-q", "-am", "main");
    const mainSha = (await git(dir, "rev-parse", "HEAD")).stdout.trim();
    await git(dir, "checkout", "-q", "topic");
    writeFileSync(join(dir, "a.txt"), "topic\n");
    await git(dir, "commit", "-q", "-am", "topic edit");
    const conflicting = (await git(dir, "rev-parse", "HEAD")).stdout.trim();
    expect(await mergeCommit(dir, mainSha, conflicting, "merge")).toBeUndefined();
  });
});

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { tempRepo } from "../../../../test/helpers/temp-repo.js";
import { BuiltinTestKit, writeFiles } from "./builtin-test-kit.js";
import { CHECKOUT } from "./checkout.js";

let repo: ReturnType<typeof tempRepo>;
let first: string;
let head: string;
let kit: BuiltinTestKit;

beforeEach(async () => {
  repo = tempRepo({ "a.txt": "one\n", "src/main.js": "main\n" }, { git: true });
  first = repo.git("rev-parse", "HEAD");
  repo.git("tag", "v1");
  await writeFiles(repo.dir, { "a.txt": "two\n", "b.txt": "new\n" });
  repo.git("add", "-A");
  repo.git("commit", "-q", "-m", "second");
  head = repo.git("rev-parse", "HEAD");
  // Uncommitted work in the repository must not leak into checkouts.
  await writeFiles(repo.dir, { "a.txt": "dirty\n", "untracked.txt": "u\n" });
  kit = await BuiltinTestKit.create({
    repoRoot: repo.dir,
    github: { repository: "acme/app", sha: head, ref: "refs/heads/main" },
  });
});

afterEach(async () => {
  await kit.cleanup();
  repo.cleanup();
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

describe("actions/checkout", () => {
  test("turns a pre-filled workspace into a clean shallow checkout of the commit", async () => {
    // What Trunkline puts in the workspace before the job, plus leftovers.
    await writeFiles(kit.workspace, {
      "a.txt": "two\n",
      "b.txt": "new\n",
      "src/main.js": "main\n",
      "stray.txt": "left over\n",
    });
    const result = await kit.run(CHECKOUT, {});
    expect(result).toEqual({ ok: true, outputs: { ref: "refs/heads/main", commit: head } });
    expect(git(kit.workspace, "rev-parse", "HEAD")).toBe(head);
    expect(git(kit.workspace, "status", "--porcelain")).toBe("");
    expect(git(kit.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(git(kit.workspace, "rev-list", "--count", "HEAD")).toBe("1");
    expect(existsSync(join(kit.workspace, "stray.txt"))).toBe(false);
    expect(await readFile(join(kit.workspace, "a.txt"), "utf8")).toBe("two\n");
  });

  test("an older commit with fetch-depth 0 has all history and tags", async () => {
    await writeFiles(kit.workspace, { "a.txt": "two\n" });
    const result = await kit.run(CHECKOUT, { ref: first, "fetch-depth": "0" });
    expect(result).toEqual({ ok: true, outputs: { ref: "", commit: first } });
    expect(git(kit.workspace, "rev-parse", "HEAD")).toBe(first);
    expect(git(kit.workspace, "status", "--porcelain")).toBe("");
    expect(await readFile(join(kit.workspace, "a.txt"), "utf8")).toBe("one\n");
    expect(existsSync(join(kit.workspace, "b.txt"))).toBe(false);
    expect(git(kit.workspace, "rev-parse", "refs/remotes/origin/main")).toBe(head);
    expect(git(kit.workspace, "tag")).toBe("v1");
    expect(git(kit.workspace, "rev-parse", "--is-shallow-repository")).toBe("false");
  });

  test("into a sub-path, leaving the rest of the workspace alone", async () => {
    await writeFiles(kit.workspace, { "keep.txt": "k" });
    const result = await kit.run(CHECKOUT, { path: "sub/app" });
    expect(result.ok).toBe(true);
    const dir = join(kit.workspace, "sub/app");
    expect(git(dir, "rev-parse", "HEAD")).toBe(head);
    expect(git(dir, "status", "--porcelain")).toBe("");
    expect(await readFile(join(kit.workspace, "keep.txt"), "utf8")).toBe("k");
  });

  test("a tag name checks out its commit, detached", async () => {
    const result = await kit.run(CHECKOUT, { ref: "v1" });
    expect(result).toEqual({ ok: true, outputs: { ref: "v1", commit: first } });
    expect(git(kit.workspace, "rev-parse", "HEAD")).toBe(first);
    expect(git(kit.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
  });

  test("a branch name checks out its tip as a local branch", async () => {
    repo.git("branch", "feature", first);
    const result = await kit.run(CHECKOUT, { ref: "feature" });
    expect(result).toEqual({ ok: true, outputs: { ref: "feature", commit: first } });
    expect(git(kit.workspace, "rev-parse", "--abbrev-ref", "HEAD")).toBe("feature");
  });

  test("a second checkout reuses the clone and cleans it", async () => {
    expect((await kit.run(CHECKOUT, {})).ok).toBe(true);
    await writeFiles(kit.workspace, { "build/out.js": "o", "a.txt": "edited\n" });
    const result = await kit.run(CHECKOUT, { ref: first });
    expect(result.ok).toBe(true);
    expect(git(kit.workspace, "rev-parse", "HEAD")).toBe(first);
    expect(git(kit.workspace, "status", "--porcelain")).toBe("");
  });

  test("clean: false keeps untracked files in a reused clone", async () => {
    expect((await kit.run(CHECKOUT, {})).ok).toBe(true);
    await writeFiles(kit.workspace, { "build/out.js": "o" });
    expect((await kit.run(CHECKOUT, { clean: "false" })).ok).toBe(true);
    expect(existsSync(join(kit.workspace, "build/out.js"))).toBe(true);
  });

  test("fetch-depth 0 deepens a shallow clone it reuses", async () => {
    expect((await kit.run(CHECKOUT, {})).ok).toBe(true);
    expect(git(kit.workspace, "rev-list", "--count", "HEAD")).toBe("1");
    expect((await kit.run(CHECKOUT, { "fetch-depth": "0" })).ok).toBe(true);
    expect(git(kit.workspace, "rev-list", "--count", "HEAD")).toBe("2");
  });

  test("a path leading out of the workspace through a link is refused, and nothing is removed", async () => {
    const outside = join(kit.root, "precious");
    await writeFiles(outside, { "keep.txt": "k" });
    await symlink(outside, join(kit.workspace, "link"));
    const result = await kit.run(CHECKOUT, { path: "link" });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringContaining("outside the workspace"),
    });
    expect(await readFile(join(outside, "keep.txt"), "utf8")).toBe("k");
  });

  test("another repository is refused", async () => {
    const result = await kit.run(CHECKOUT, { repository: "someone/else" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("only the repository being built (acme/app)");
    expect(result.message).toContain("someone/else");
  });

  test("naming the repository being built is fine, in any case", async () => {
    expect((await kit.run(CHECKOUT, { repository: "ACME/App" })).ok).toBe(true);
  });

  test("a path outside the workspace is refused", async () => {
    const result = await kit.run(CHECKOUT, { path: "../elsewhere" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("is not under") });
  });

  test("an unknown ref is refused", async () => {
    const result = await kit.run(CHECKOUT, { ref: "no-such-branch" });
    expect(result).toMatchObject({
      ok: false,
      message: "A branch or tag with the name 'no-such-branch' could not be found",
    });
  });

  test("a ref that looks like an option never reaches git as one", async () => {
    const marker = join(kit.root, "marker");
    const result = await kit.run(CHECKOUT, { ref: `--upload-pack=touch ${marker}` });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("is not a valid ref");
    expect(existsSync(marker)).toBe(false);
  });

  test("a run without a commit cannot check out", async () => {
    const bare = await BuiltinTestKit.create({ repoRoot: repo.dir, github: { sha: "" } });
    try {
      const result = await bare.run(CHECKOUT, {});
      expect(result).toMatchObject({ ok: false, message: expect.stringContaining("no commit") });
    } finally {
      await bare.cleanup();
    }
  });
});

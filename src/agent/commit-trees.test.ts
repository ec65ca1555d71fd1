import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { committed, git } from "../../test/helpers/git.js";
import { CommitTrees } from "./commit-trees.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-trees-"));
  dirs.push(dir);
  return dir;
}

test("jobs of one commit get copies of one unpacked tree; a job's changes stay in its workspace", async () => {
  const { dir: repo } = await committed({
    "README.md": "hello\n",
    "src/a.txt": "a\n",
    "bin/tool": "#!/bin/sh\necho tool\n",
  });
  dirs.push(repo);
  await git(repo, "update-index", "--chmod=+x", "bin/tool");
  await git(repo, "commit", "-q", "-m", "executable");
  const sha = (await git(repo, "rev-parse", "HEAD")).stdout.trim();
  const root = tempDir();
  const trees = new CommitTrees(join(root, "trees"));
  await Promise.all([
    trees.fill(repo, sha, join(root, "one")),
    trees.fill(repo, sha, join(root, "two")),
  ]);
  expect(readdirSync(join(root, "trees"))).toHaveLength(1);
  for (const job of ["one", "two"]) {
    expect(readFileSync(join(root, job, "README.md"), "utf8")).toBe("hello\n");
    expect(readFileSync(join(root, job, "src", "a.txt"), "utf8")).toBe("a\n");
    expect(statSync(join(root, job, "bin", "tool")).mode & 0o111).toBe(0o111);
    expect(statSync(join(root, job, "src", "a.txt")).mode & 0o111).toBe(0);
  }
  writeFileSync(join(root, "one", "README.md"), "changed by a job\n");
  await trees.fill(repo, sha, join(root, "three"));
  expect(readFileSync(join(root, "three", "README.md"), "utf8")).toBe("hello\n");
});

test("a commit the repository does not have fails the fill, and is not kept", async () => {
  const { dir: repo } = await committed({ "a.txt": "a\n" });
  dirs.push(repo);
  const root = tempDir();
  const trees = new CommitTrees(join(root, "trees"));
  await expect(trees.fill(repo, "f".repeat(40), join(root, "job"))).rejects.toThrow(
    `cannot read commit ${"f".repeat(40)}`,
  );
  expect(readdirSync(join(root, "trees"))).toEqual([]);
});

test("only the newest eight commits stay unpacked", async () => {
  const { dir: repo, sha: first } = await committed({ "n.txt": "0\n" });
  dirs.push(repo);
  const shas = [first];
  for (let i = 1; i < 10; i++) {
    writeFileSync(join(repo, "n.txt"), `${i}\n`);
    await git(repo, "commit", "-q", "-am", `commit ${i}`);
    shas.push((await git(repo, "rev-parse", "HEAD")).stdout.trim());
  }
  const root = tempDir();
  const trees = new CommitTrees(join(root, "trees"));
  for (const [i, sha] of shas.entries()) {
    await trees.fill(repo, sha, join(root, `job-${i}`));
    expect(readFileSync(join(root, `job-${i}`, "n.txt"), "utf8")).toBe(`${i}\n`);
  }
  expect(readdirSync(join(root, "trees"))).toHaveLength(8);
});

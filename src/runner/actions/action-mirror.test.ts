import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseActionReference } from "../../workflow/action-reference.js";
import { ActionMirror } from "./action-mirror.js";

function gitRepo(dir: string, files: Record<string, string>, tag: string): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=m@example.com", "-c", "user.name=m", ...args], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  git("init", "-q", "-b", "main");
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  git("add", "-A");
  git("commit", "-q", "-m", tag);
  git("tag", tag);
  return git("rev-parse", "HEAD");
}

describe("action mirrors", () => {
  const root = mkdtempSync(join(tmpdir(), "trunkline-mirror-"));
  const mirrorDir = join(root, "mirror");
  const v1 = gitRepo(
    join(mirrorDir, "acme", "tool"),
    { "action.yml": "runs: {using: node20, main: index.js}\n", "index.js": "// v1\n" },
    "v1",
  );
  const cache = join(root, "cache");

  test("a git mirror resolves a tag to its commit and exports it once into the cache", async () => {
    const mirror = new ActionMirror([mirrorDir], cache);
    const found = await mirror.resolve("acme", "tool", "v1");
    expect(found).toEqual({ root: join(cache, "acme", "tool", v1), commit: v1 });
    expect(readFileSync(join(cache, "acme", "tool", v1, "index.js"), "utf8")).toBe("// v1\n");
    expect(existsSync(join(cache, "acme", "tool", v1, ".git"))).toBe(false);
    expect(await mirror.resolve("acme", "tool", "v1")).toEqual(found);
  });

  test("an explicit owner/repo=path mirror, and clear errors", async () => {
    const mirror = new ActionMirror([`acme/tool=${join(mirrorDir, "acme", "tool")}`], cache);
    expect(await mirror.resolve("acme", "tool", "main")).toMatchObject({ commit: v1 });
    expect(await mirror.resolve("acme", "tool", "v9")).toEqual({
      error: `ref 'v9' not found in the mirror ${join(mirrorDir, "acme", "tool")}`,
    });
    expect(await new ActionMirror([], cache).resolve("a", "b", "v1")).toMatchObject({
      error: expect.stringMatching(/^no action mirror is configured for a\/b/),
    });
  });

  test("references", () => {
    expect(parseActionReference("./x")).toEqual({ kind: "local", path: "./x" });
    expect(parseActionReference("docker://alpine:3")).toEqual({
      kind: "docker",
      image: "alpine:3",
    });
    expect(parseActionReference("o/r/sub/dir@v2")).toEqual({
      kind: "remote",
      owner: "o",
      repo: "r",
      path: "sub/dir",
      ref: "v2",
    });
    expect(parseActionReference("o/r/../x@v1")).toBeUndefined();
    expect(parseActionReference("nonsense")).toBeUndefined();
  });
});

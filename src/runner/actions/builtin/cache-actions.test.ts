import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { c as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BuiltinTestKit, writeFiles } from "./builtin-test-kit.js";
import { CACHE, CACHE_RESTORE, CACHE_SAVE } from "./cache-actions.js";
import { CacheStore, cacheVersion } from "./cache-store.js";

let kit: BuiltinTestKit;
beforeEach(async () => {
  kit = await BuiltinTestKit.create();
});
afterEach(async () => {
  await kit.cleanup();
});

const deps = () => join(kit.workspace, "deps");

/** Saves `deps` holding `files` under `key` with actions/cache/save. */
async function saveDeps(key: string, files: Record<string, string>): Promise<void> {
  await rm(deps(), { recursive: true, force: true });
  await writeFiles(deps(), files);
  expect((await kit.run(CACHE_SAVE, { key, path: "deps" })).ok).toBe(true);
  await rm(deps(), { recursive: true, force: true });
}

describe("actions/cache", () => {
  test("a miss, a save in the post step, then an exact hit", async () => {
    const miss = await kit.run(CACHE, { key: "deps-v1", path: "deps" });
    expect(miss).toEqual({
      ok: true,
      outputs: { "cache-hit": "false", "cache-primary-key": "deps-v1", "cache-matched-key": "" },
    });
    expect(kit.notes()).toContain("Cache not found for input keys: deps-v1");
    expect(kit.posts).toHaveLength(1);
    expect(kit.posts[0]?.if).toBe("success()");

    await writeFiles(deps(), { "lib/a.js": "a", "b.txt": "b" });
    expect(await kit.runPosts()).toEqual([{ ok: true }]);
    expect(kit.notes()).toContain("Cache saved with key: deps-v1");

    await rm(deps(), { recursive: true });
    kit.clearEvents();
    const hit = await kit.run(CACHE, { key: "deps-v1", path: "deps" });
    expect(hit.outputs).toEqual({
      "cache-hit": "true",
      "cache-primary-key": "deps-v1",
      "cache-matched-key": "deps-v1",
    });
    expect(await readFile(join(deps(), "lib/a.js"), "utf8")).toBe("a");
    expect(await readFile(join(deps(), "b.txt"), "utf8")).toBe("b");

    // The key itself was restored: the post step does not save again.
    await writeFiles(deps(), { "new.txt": "n" });
    expect(await kit.runPosts()).toEqual([{ ok: true }]);
    expect(kit.notes()).toContain(
      "Cache hit occurred on the primary key deps-v1, not saving cache.",
    );
  });

  test("restore-keys: the newest entry under the first prefix that matches", async () => {
    await saveDeps("npm-linux-aaa", { "v.txt": "older" });
    await saveDeps("npm-linux-bbb", { "v.txt": "newer" });
    await saveDeps("npm-other", { "v.txt": "other" });
    const result = await kit.run(CACHE, {
      key: "npm-linux-ccc",
      path: "deps",
      "restore-keys": "yarn-\nnpm-linux-\nnpm-",
    });
    expect(result.outputs).toEqual({
      "cache-hit": "false",
      "cache-primary-key": "npm-linux-ccc",
      "cache-matched-key": "npm-linux-bbb",
    });
    expect(await readFile(join(deps(), "v.txt"), "utf8")).toBe("newer");
    expect(kit.posts).toHaveLength(1);
  });

  test("restore-keys are tried in order, not by age", async () => {
    await saveDeps("npm-a", { "v.txt": "a" });
    await saveDeps("npm-b", { "v.txt": "b" });
    const result = await kit.run(CACHE, { key: "x", path: "deps", "restore-keys": "npm-a\nnpm-" });
    expect(result.outputs["cache-matched-key"]).toBe("npm-a");
    expect(await readFile(join(deps(), "v.txt"), "utf8")).toBe("a");
  });

  test("an entry whose key starts with the key is restored, but is no hit", async () => {
    await saveDeps("build-123-extra", { "v.txt": "x" });
    const result = await kit.run(CACHE, { key: "build-123", path: "deps" });
    expect(result.outputs).toMatchObject({
      "cache-hit": "false",
      "cache-matched-key": "build-123-extra",
    });
  });

  test("entries saved for other paths are not seen", async () => {
    await saveDeps("k", { "v.txt": "x" });
    const result = await kit.run(CACHE, { key: "k", path: "deps\nother" });
    expect(result.outputs["cache-hit"]).toBe("false");
  });

  test("fail-on-cache-miss fails a miss, not a restore-key match", async () => {
    const miss = await kit.run(CACHE, { key: "k", path: "deps", "fail-on-cache-miss": "true" });
    expect(miss.ok).toBe(false);
    expect(miss.message).toBe(
      "Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: k",
    );
    expect(kit.posts).toHaveLength(0);
    await saveDeps("k-old", { "v.txt": "x" });
    const partial = await kit.run(CACHE_RESTORE, {
      key: "z",
      path: "deps",
      "restore-keys": "k-",
      "fail-on-cache-miss": "true",
    });
    expect(partial.ok).toBe(true);
  });

  test("lookup-only reports a hit without restoring", async () => {
    await saveDeps("k", { "v.txt": "x" });
    const result = await kit.run(CACHE, { key: "k", path: "deps", "lookup-only": "true" });
    expect(result.outputs["cache-hit"]).toBe("true");
    expect(kit.notes()).toContain("Cache found and can be restored from key: k");
    expect(existsSync(deps())).toBe(false);
  });

  test("a post step with nothing to save warns and succeeds", async () => {
    await kit.run(CACHE, { key: "k", path: "deps" });
    expect(await kit.runPosts()).toEqual([{ ok: true }]);
    expect(kit.annotations("warning")[0]).toContain("Path Validation Error");
  });

  test("paths under ~ are HOME's, and several paths restore to their places", async () => {
    await writeFiles(kit.home, { ".npm/_cacache/index": "npm" });
    await writeFiles(kit.workspace, { "node_modules/x/index.js": "x", "package.json": "{}" });
    const path = "~/.npm\nnode_modules\npackage.json";
    expect((await kit.run(CACHE_SAVE, { key: "multi", path })).ok).toBe(true);
    await rm(join(kit.home, ".npm"), { recursive: true });
    await rm(join(kit.workspace, "node_modules"), { recursive: true });
    await rm(join(kit.workspace, "package.json"));
    const result = await kit.run(CACHE_RESTORE, { key: "multi", path });
    expect(result.outputs["cache-hit"]).toBe("true");
    expect(await readFile(join(kit.home, ".npm/_cacache/index"), "utf8")).toBe("npm");
    expect(await readFile(join(kit.workspace, "node_modules/x/index.js"), "utf8")).toBe("x");
    expect(await readFile(join(kit.workspace, "package.json"), "utf8")).toBe("{}");
  });

  test("links inside a path are kept as links; links out of it are left out", async () => {
    await writeFiles(deps(), { "pkg/bin.js": "bin" });
    await mkdir(join(deps(), ".bin"));
    await symlink("../pkg/bin.js", join(deps(), ".bin/tool"));
    await symlink("../../elsewhere", join(deps(), ".bin/escape"));
    expect((await kit.run(CACHE_SAVE, { key: "links", path: "deps" })).ok).toBe(true);
    expect(kit.annotations("warning")[0]).toContain(".bin/escape -> ../../elsewhere");
    await rm(deps(), { recursive: true });
    expect((await kit.run(CACHE_RESTORE, { key: "links", path: "deps" })).ok).toBe(true);
    expect(await readlink(join(deps(), ".bin/tool"))).toBe("../pkg/bin.js");
    expect(existsSync(join(deps(), ".bin/escape"))).toBe(false);
  });

  test("saving a key that exists changes nothing", async () => {
    await saveDeps("k", { "v.txt": "first" });
    await writeFiles(deps(), { "v.txt": "second" });
    expect((await kit.run(CACHE_SAVE, { key: "k", path: "deps" })).ok).toBe(true);
    expect(kit.notes()).toContain("Cache entry for key 'k' already exists: not saving it again.");
    await rm(deps(), { recursive: true });
    await kit.run(CACHE_RESTORE, { key: "k", path: "deps" });
    expect(await readFile(join(deps(), "v.txt"), "utf8")).toBe("first");
  });

  test("entries are stored under hashed names, whatever the key", async () => {
    await saveDeps("../../etc/passwd", { "v.txt": "x" });
    const names = await readdir(kit.env.cacheDir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    [{ key: "a,b", path: "deps" }, "Key Validation Error: a,b cannot contain commas."],
    [{ key: "k".repeat(513), path: "deps" }, "cannot be larger than 512 characters"],
    [
      { key: "k", path: "deps", "restore-keys": "1\n2\n3\n4\n5\n6\n7\n8\n9\n10" },
      "Keys are limited to a maximum of 10.",
    ],
    [{ path: "deps" }, "Input required and not supplied: key"],
    [{ key: "k" }, "Input required and not supplied: path"],
    [{ key: "k", path: "deps", "lookup-only": "maybe" }, "lookup-only"],
  ])("inputs %j are refused", async (inputs, message) => {
    const result = await kit.run(CACHE, inputs);
    expect(result.ok).toBe(false);
    expect(result.message).toContain(message);
  });
});

describe("a tampered cache store", () => {
  test("an entry with a '..' path fails the restore and writes nothing outside", async () => {
    const store = new CacheStore(kit.env.cacheDir);
    const version = cacheVersion(["deps"]);
    const dir = store.entryDir("evil", version);
    await mkdir(dir, { recursive: true });
    // A hand-made archive: `preservePaths` keeps the `..` that tar would otherwise strip.
    await writeFiles(join(kit.root, "craft/sub"), { "pwned.txt": "x" });
    await createTar(
      {
        file: join(dir, "0.tgz"),
        gzip: true,
        cwd: join(kit.root, "craft/sub"),
        preservePaths: true,
      },
      ["../sub/pwned.txt"],
    );
    const entry = { key: "evil", version, createdAt: 1, roots: [{ index: 0, archive: "0.tgz" }] };
    await writeFile(join(dir, "entry.json"), JSON.stringify(entry));
    const result = await kit.run(CACHE, { key: "evil", path: "deps" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("refusing to extract '../sub/pwned.txt'");
    expect(existsSync(join(kit.workspace, "sub"))).toBe(false);
    expect(existsSync(deps())).toBe(false);
  });
});

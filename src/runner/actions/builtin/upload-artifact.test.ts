import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readdir, readFile, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BuiltinTestKit, writeFiles } from "./builtin-test-kit.js";
import { DOWNLOAD_ARTIFACT } from "./download-artifact.js";
import { UPLOAD_ARTIFACT } from "./upload-artifact.js";

let kit: BuiltinTestKit;
beforeEach(async () => {
  kit = await BuiltinTestKit.create();
});
afterEach(async () => {
  await kit.cleanup();
});

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** The entry names of a stored zip archive. */
async function archiveEntries(file: string): Promise<string[]> {
  const yauzl = await import("yauzl");
  const zip = await new Promise<import("yauzl").ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: false }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on("entry", (e: import("yauzl").Entry) => names.push(e.fileName));
    zip.on("end", () => resolve());
    zip.on("error", reject);
  });
  return names.sort();
}

/** Uploads `path` as `name`, then downloads it into `into` and returns the files there. */
async function roundTrip(path: string, inputs: Record<string, string> = {}): Promise<string[]> {
  const up = await kit.run(UPLOAD_ARTIFACT, { name: "a", path, ...inputs });
  expect(up).toMatchObject({ ok: true });
  const down = await kit.run(DOWNLOAD_ARTIFACT, { name: "a", path: "into" });
  expect(down).toMatchObject({
    ok: true,
    outputs: { "download-path": join(kit.workspace, "into") },
  });
  return tree(join(kit.workspace, "into"));
}

describe("upload then download", () => {
  test("keeps content and layout below the common ancestor of the paths", async () => {
    await writeFiles(kit.workspace, {
      "out/a/x.txt": "x",
      "out/b/deep/y.txt": "y",
      "out/c/ignored.txt": "not asked for",
    });
    await chmod(join(kit.workspace, "out/a/x.txt"), 0o755);
    const files = await roundTrip("out/a/x.txt\nout/b/deep/y.txt");
    expect(files).toEqual(["a/x.txt", "b/deep/y.txt"]);
    const into = join(kit.workspace, "into");
    expect(await readFile(join(into, "a/x.txt"), "utf8")).toBe("x");
    expect(await readFile(join(into, "b/deep/y.txt"), "utf8")).toBe("y");
    expect((await stat(join(into, "a/x.txt"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(into, "b/deep/y.txt"))).mode & 0o777).toBe(0o644);
  });

  test("a directory stands for everything below it, rooted at the directory", async () => {
    await writeFiles(kit.workspace, { "dist/index.js": "i", "dist/lib/util.js": "u" });
    expect(await roundTrip("dist")).toEqual(["index.js", "lib/util.js"]);
  });

  test("a single file is stored under its own name", async () => {
    await writeFiles(kit.workspace, { "reports/junit.xml": "<x/>" });
    expect(await roundTrip("reports/junit.xml")).toEqual(["junit.xml"]);
  });

  test("wildcards keep the layout below the part before the first wildcard", async () => {
    await writeFiles(kit.workspace, { "out/a/x.txt": "x", "out/a/x.log": "l", "out/b/y.txt": "y" });
    expect(await roundTrip("out/**/*.txt")).toEqual(["a/x.txt", "b/y.txt"]);
  });

  test("outputs the id, a file URL of the stored archive and its SHA-256", async () => {
    await writeFiles(kit.workspace, { "f.txt": "f" });
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "f.txt" });
    expect(result.ok).toBe(true);
    expect(result.outputs["artifact-id"]).toBe("1");
    const archive = fileURLToPath(result.outputs["artifact-url"] as string);
    expect(archive).toBe(join(kit.env.artifactDir, "artifact.zip"));
    const digest = createHash("sha256")
      .update(await readFile(archive))
      .digest("hex");
    expect(result.outputs["artifact-digest"]).toBe(digest);
    expect(await archiveEntries(archive)).toEqual(["f.txt"]);
  });

  test("the stored archive holds no absolute path and no '..'", async () => {
    await writeFiles(kit.workspace, { "a/one.txt": "1", "b/two.txt": "2" });
    await kit.run(UPLOAD_ARTIFACT, { name: "both", path: `${kit.workspace}/a\nb/../b` });
    const names = await archiveEntries(join(kit.env.artifactDir, "both.zip"));
    expect(names).toEqual(["a/one.txt", "b/two.txt"]);
  });
});

describe("selection", () => {
  beforeEach(async () => {
    await writeFiles(kit.workspace, {
      "dist/app.js": "a",
      "dist/app.js.map": "m",
      "dist/tmp/scratch.txt": "s",
      "dist/.env": "SECRET=1",
      "dist/.cache/c.txt": "c",
    });
  });

  test("'!' excludes files and whole directories", async () => {
    expect(await roundTrip("dist\n!dist/**/*.map\n!dist/tmp")).toEqual(["app.js"]);
  });

  test("hidden files and directories are left out by default", async () => {
    expect(await roundTrip("dist")).toEqual(["app.js", "app.js.map", "tmp/scratch.txt"]);
  });

  test("include-hidden-files: true includes them", async () => {
    expect(await roundTrip("dist", { "include-hidden-files": "true" })).toEqual([
      ".cache/c.txt",
      ".env",
      "app.js",
      "app.js.map",
      "tmp/scratch.txt",
    ]);
  });
});

describe("if-no-files-found", () => {
  test("error fails the step", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "nope/*", "if-no-files-found": "error" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("No files were found with the provided path: nope/*");
  });

  test("warn (the default) succeeds with a warning and stores nothing", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "nope/*" });
    expect(result).toEqual({ ok: true, outputs: {} });
    expect(kit.annotations("warning")).toEqual([
      "No files were found with the provided path: nope/*. No artifacts will be uploaded.",
    ]);
    expect(existsSync(join(kit.env.artifactDir, "artifact.json"))).toBe(false);
  });

  test("ignore succeeds without a warning", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "nope", "if-no-files-found": "ignore" });
    expect(result).toEqual({ ok: true, outputs: {} });
    expect(kit.annotations("warning")).toEqual([]);
  });

  test("an unknown value is refused", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "x", "if-no-files-found": "fail" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("Unrecognized if-no-files-found input");
  });
});

describe("overwrite", () => {
  test("a name already uploaded is refused, then replaced with overwrite: true", async () => {
    await writeFiles(kit.workspace, { "f.txt": "first" });
    expect((await kit.run(UPLOAD_ARTIFACT, { name: "n", path: "f.txt" })).ok).toBe(true);
    await writeFiles(kit.workspace, { "f.txt": "second" });
    const refused = await kit.run(UPLOAD_ARTIFACT, { name: "n", path: "f.txt" });
    expect(refused.ok).toBe(false);
    expect(refused.message).toContain("an artifact named 'n' already exists");
    const replaced = await kit.run(UPLOAD_ARTIFACT, {
      name: "n",
      path: "f.txt",
      overwrite: "true",
    });
    expect(replaced).toMatchObject({ ok: true, outputs: { "artifact-id": "2" } });
    await kit.run(DOWNLOAD_ARTIFACT, { name: "n", path: "got" });
    expect(await readFile(join(kit.workspace, "got/f.txt"), "utf8")).toBe("second");
  });

  test("overwrite must be a YAML boolean", async () => {
    await writeFiles(kit.workspace, { "f.txt": "f" });
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "f.txt", overwrite: "yes" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("overwrite");
  });
});

describe("names and inputs", () => {
  test.each(['"', ":", "<", ">", "|", "*", "?", "\r", "\n", "\\", "/"])(
    "a name with %j is refused",
    async (character) => {
      await writeFiles(kit.workspace, { "f.txt": "f" });
      const result = await kit.run(UPLOAD_ARTIFACT, { name: `bad${character}name`, path: "f.txt" });
      expect(result.ok).toBe(false);
      expect(result.message).toContain("The artifact name is not valid");
      expect(await readdir(kit.env.artifactDir).catch(() => [])).toEqual([]);
    },
  );

  test("an explicitly empty name is refused", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { name: "", path: "f.txt" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("empty") });
  });

  test("'..' is a valid name and stays inside the store", async () => {
    await writeFiles(kit.workspace, { "f.txt": "f" });
    expect((await kit.run(UPLOAD_ARTIFACT, { name: "..", path: "f.txt" })).ok).toBe(true);
    expect((await readdir(kit.env.artifactDir)).sort()).toEqual(["...json", "...zip", ".ids"]);
  });

  test("path is required", async () => {
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "  \n " });
    expect(result).toMatchObject({ ok: false, message: "Input required and not supplied: path" });
  });

  test.each([
    ["compression-level", "10", "Invalid compression-level"],
    ["retention-days", "0", "Invalid retention, minimum value is 1."],
    ["retention-days", "soon", "Invalid retention-days"],
  ])("%s: %s is refused", async (input, value, message) => {
    await writeFiles(kit.workspace, { "f.txt": "f" });
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "f.txt", [input]: value });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(message);
  });

  test("compression-level 0 and a long retention still upload", async () => {
    await writeFiles(kit.workspace, { "f.txt": "f" });
    const inputs = { path: "f.txt", "compression-level": "0", "retention-days": "400" };
    expect((await kit.run(UPLOAD_ARTIFACT, inputs)).ok).toBe(true);
    expect(kit.annotations("warning")[0]).toContain("Using 90 instead");
  });
});

test("a cancelled upload fails instead of throwing", async () => {
  await writeFiles(kit.workspace, { "f.txt": "f" });
  const result = await kit.run(UPLOAD_ARTIFACT, { path: "f.txt" }, {}, AbortSignal.abort());
  expect(result).toEqual({ ok: false, outputs: {}, message: "The step was cancelled." });
  expect(existsSync(join(kit.env.artifactDir, "artifact.json"))).toBe(false);
});

describe("paths outside the workspace", () => {
  test("a relative path climbing out is refused", async () => {
    await writeFiles(kit.root, { "secret.txt": "s" });
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "../../secret.txt" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("outside the workspace");
  });

  test("an absolute path elsewhere is refused", async () => {
    await writeFiles(kit.root, { "secret.txt": "s" });
    const result = await kit.run(UPLOAD_ARTIFACT, { path: join(kit.root, "secret.txt") });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("outside the workspace");
  });

  test("a link to a file outside is refused, naming the link", async () => {
    await writeFiles(kit.root, { "secret.txt": "s" });
    await writeFiles(kit.workspace, { "dist/app.js": "a" });
    await symlink(join(kit.root, "secret.txt"), join(kit.workspace, "dist/leak.txt"));
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "dist" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(
      `'${join(kit.workspace, "dist/leak.txt")}' is a symbolic link`,
    );
    expect(existsSync(join(kit.env.artifactDir, "artifact.zip"))).toBe(false);
  });

  test("a link to a directory outside is refused", async () => {
    await writeFiles(kit.root, { "outside/secret.txt": "s" });
    await writeFiles(kit.workspace, { "dist/app.js": "a" });
    await symlink(join(kit.root, "outside"), join(kit.workspace, "dist/more"));
    const result = await kit.run(UPLOAD_ARTIFACT, { path: "dist/**/*.txt" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("outside the workspace");
  });

  test("an excluded link outside is no reason to refuse", async () => {
    await writeFiles(kit.root, { "secret.txt": "s" });
    await writeFiles(kit.workspace, { "dist/app.js": "a" });
    await symlink(join(kit.root, "secret.txt"), join(kit.workspace, "dist/leak.txt"));
    expect(await roundTrip("dist\n!dist/leak.txt")).toEqual(["app.js"]);
  });

  test("a link inside the workspace is followed and stored as a file", async () => {
    await writeFiles(kit.workspace, { "dist/app.js": "a", "shared/lib.js": "lib" });
    await symlink("../shared", join(kit.workspace, "dist/shared"));
    expect(await roundTrip("dist")).toEqual(["app.js", "shared/lib.js"]);
    expect(await readFile(join(kit.workspace, "into/shared/lib.js"), "utf8")).toBe("lib");
  });
});

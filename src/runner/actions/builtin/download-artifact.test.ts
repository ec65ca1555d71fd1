import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header, type HeaderData } from "tar";
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

async function upload(name: string, files: Record<string, string>): Promise<void> {
  const dir = join(kit.root, "src", name);
  await writeFiles(dir, files);
  // Uploads read the workspace: stage each artifact's files there under its own folder.
  await writeFiles(join(kit.workspace, "staging", name), files);
  const result = await kit.run(UPLOAD_ARTIFACT, { name, path: `staging/${name}` });
  expect(result.ok).toBe(true);
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("downloading", () => {
  beforeEach(async () => {
    await upload("app-linux", { "bin/app": "linux" });
    await upload("app-mac", { "bin/app": "mac", "README.md": "r" });
    await upload("logs", { "run.log": "log" });
  });

  test("a named artifact lands in path itself", async () => {
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "app-mac", path: "out" });
    expect(result).toEqual({ ok: true, outputs: { "download-path": join(kit.workspace, "out") } });
    expect(await files(join(kit.workspace, "out"))).toEqual(["README.md", "bin/app"]);
  });

  test("without a name every artifact lands in a folder of its name", async () => {
    const result = await kit.run(DOWNLOAD_ARTIFACT, { path: "all" });
    expect(result.ok).toBe(true);
    expect(await files(join(kit.workspace, "all"))).toEqual([
      "app-linux/bin/app",
      "app-mac/README.md",
      "app-mac/bin/app",
      "logs/run.log",
    ]);
  });

  test("path defaults to the workspace", async () => {
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "logs" });
    expect(result.outputs["download-path"]).toBe(kit.workspace);
    expect(await readFile(join(kit.workspace, "run.log"), "utf8")).toBe("log");
  });

  test("pattern selects artifacts by name", async () => {
    await kit.run(DOWNLOAD_ARTIFACT, { path: "apps", pattern: "app-*" });
    expect(await readdir(join(kit.workspace, "apps"))).toEqual(["app-linux", "app-mac"]);
  });

  test("merge-multiple puts every artifact in path, later uploads winning", async () => {
    await kit.run(DOWNLOAD_ARTIFACT, {
      path: "merged",
      pattern: "app-*",
      "merge-multiple": "true",
    });
    expect(await files(join(kit.workspace, "merged"))).toEqual(["README.md", "bin/app"]);
    expect(await readFile(join(kit.workspace, "merged/bin/app"), "utf8")).toBe("mac");
  });

  test("an unknown name fails the step", async () => {
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "nope" });
    expect(result).toMatchObject({
      ok: false,
      message: "Unable to download artifact(s): Artifact not found for name: nope",
    });
  });

  test("a pattern matching nothing succeeds with nothing", async () => {
    const result = await kit.run(DOWNLOAD_ARTIFACT, { path: "none", pattern: "zzz*" });
    expect(result.ok).toBe(true);
    expect(existsSync(join(kit.workspace, "none"))).toBe(false);
  });

  test("another run's or repository's artifacts are refused", async () => {
    const run = await kit.run(DOWNLOAD_ARTIFACT, { name: "logs", "run-id": "999" });
    expect(run).toMatchObject({ ok: false, message: expect.stringContaining("another run") });
    const repo = await kit.run(DOWNLOAD_ARTIFACT, { name: "logs", repository: "other/repo" });
    expect(repo).toMatchObject({ ok: false, message: expect.stringContaining("other/repo") });
    const same = await kit.run(DOWNLOAD_ARTIFACT, {
      name: "logs",
      repository: "ACME/app",
      "run-id": "1",
    });
    expect(same.ok).toBe(true);
  });
});

/** One entry of a hand-made archive. */
interface RawEntry extends HeaderData {
  readonly body?: string;
}

/** A tar archive written header by header with node-tar's Header, so anything can be in it. */
function rawTar(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { body = "", ...data } of entries) {
    const content = Buffer.from(body);
    const header = new Header({
      mode: 0o644,
      mtime: new Date(0),
      size: content.length,
      type: "File",
      ...data,
    });
    header.encode();
    if (header.needPax || !header.block) throw new Error(`test entry too long: ${data.path}`);
    blocks.push(header.block);
    blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Stores a hand-made archive as artifact `name`, with a matching record. */
async function plant(name: string, entries: readonly RawEntry[]): Promise<void> {
  const archive = gzipSync(rawTar(entries));
  await mkdir(kit.env.artifactDir, { recursive: true });
  await writeFile(join(kit.env.artifactDir, `${name}.tgz`), archive);
  const record = {
    id: 1,
    name,
    digest: createHash("sha256").update(archive).digest("hex"),
    size: archive.length,
    files: entries.length,
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(0).toISOString(),
  };
  await writeFile(join(kit.env.artifactDir, `${name}.json`), JSON.stringify(record));
}

describe("a tampered artifact store", () => {
  /** A directory beside the destination that nothing may write into. */
  let outside: string;
  let destination: string;
  beforeEach(async () => {
    outside = join(kit.root, "outside");
    destination = join(kit.workspace, "dest");
    await mkdir(outside, { recursive: true });
  });

  async function refused(entries: readonly RawEntry[], entryName: string, reason: string) {
    await plant("evil", entries);
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "evil", path: "dest" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(`'${entryName}'`);
    expect(result.message).toContain(reason);
    expect(await readdir(outside)).toEqual([]);
    expect(existsSync(join(kit.workspace, "pwned.txt"))).toBe(false);
    expect(existsSync(join(kit.root, "pwned.txt"))).toBe(false);
    return result;
  }

  test("an absolute path is refused before anything is written", async () => {
    const abs = join(outside, "pwned.txt");
    await refused(
      [
        { path: "innocent.txt", body: "hi" },
        { path: abs, body: "x" },
      ],
      abs,
      "its path is absolute",
    );
    // All entries are checked first: not even the harmless one was written.
    expect(existsSync(join(destination, "innocent.txt"))).toBe(false);
  });

  test.each(["../pwned.txt", "a/../../pwned.txt", "../outside/pwned.txt", "..\\pwned.txt"])(
    "'%s' is refused",
    async (path) => {
      await refused([{ path, body: "x" }], path, "'..'");
    },
  );

  test("a link climbing out is refused", async () => {
    await refused(
      [{ path: "sub/link", type: "SymbolicLink", linkpath: "../../../outside" }],
      "sub/link",
      "pointing outside the destination",
    );
  });

  test("a link to an absolute path is refused", async () => {
    await refused(
      [{ path: "link", type: "SymbolicLink", linkpath: outside }],
      "link",
      "absolute path",
    );
  });

  test("a link then a file written through it is refused", async () => {
    await refused(
      [
        { path: "link", type: "SymbolicLink", linkpath: "../../outside" },
        { path: "link/pwned.txt", body: "x" },
      ],
      "link",
      "pointing outside",
    );
  });

  test("a link that only escapes once another link makes '..' climb further is refused", async () => {
    // `s -> .` makes `s/s` the destination itself, so `../../outside` from there escapes,
    // though it looks two levels deep.
    await refused(
      [
        { path: "s", type: "SymbolicLink", linkpath: "." },
        { path: "s/s/x", type: "SymbolicLink", linkpath: "../../outside" },
      ],
      "s/s/x",
      "resolves outside the destination",
    );
  });

  test("a link that a later link turns outward is refused and removed", async () => {
    // When `x` is made, `a` is missing and `a/../escaped` is inside; `a -> .` then makes it
    // climb out of the destination.
    await refused(
      [
        { path: "x", type: "SymbolicLink", linkpath: "a/../escaped" },
        { path: "a", type: "SymbolicLink", linkpath: "." },
      ],
      "x",
      "resolves outside the destination",
    );
    expect(existsSync(join(destination, "x"))).toBe(false);
  });

  test("a hard link is refused", async () => {
    await refused(
      [
        { path: "innocent.txt", body: "hi" },
        { path: "hard", type: "Link", linkpath: "innocent.txt" },
      ],
      "hard",
      "hard link",
    );
    expect(existsSync(join(destination, "innocent.txt"))).toBe(false);
  });

  test("a hard link to a file outside is refused", async () => {
    await writeFiles(outside, { "target.txt": "t" });
    await plant("evil", [{ path: "hard", type: "Link", linkpath: join(outside, "target.txt") }]);
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "evil", path: "dest" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("hard link") });
    expect(await readFile(join(outside, "target.txt"), "utf8")).toBe("t");
  });

  test("a device entry is refused", async () => {
    await refused([{ path: "dev", type: "CharacterDevice" }], "dev", "never extracted");
  });

  test("a link already in the destination is never written through", async () => {
    await mkdir(destination, { recursive: true });
    await symlink(outside, join(destination, "pre"));
    await refused([{ path: "pre/pwned.txt", body: "x" }], "pre/pwned.txt", "leads outside");
  });

  test("an existing file link in the destination is replaced, not followed", async () => {
    await writeFiles(outside, { "target.txt": "keep" });
    await mkdir(destination, { recursive: true });
    await symlink(join(outside, "target.txt"), join(destination, "f.txt"));
    await plant("ok", [{ path: "f.txt", body: "new" }]);
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "ok", path: "dest" });
    expect(result.ok).toBe(true);
    expect(await readFile(join(outside, "target.txt"), "utf8")).toBe("keep");
    expect((await lstat(join(destination, "f.txt"))).isFile()).toBe(true);
    expect(await readFile(join(destination, "f.txt"), "utf8")).toBe("new");
  });

  test("links that stay inside are extracted as links", async () => {
    await plant("ok", [
      { path: "lib/real.js", body: "r" },
      { path: "bin/tool", type: "SymbolicLink", linkpath: "../lib/real.js" },
      { path: "./", type: "Directory" },
    ]);
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "ok", path: "dest" });
    expect(result.ok).toBe(true);
    expect(await readlink(join(destination, "bin/tool"))).toBe("../lib/real.js");
    expect(await readFile(join(destination, "bin/tool"), "utf8")).toBe("r");
  });

  test("an archive that is not one fails the step with a message", async () => {
    await mkdir(kit.env.artifactDir, { recursive: true });
    await writeFile(join(kit.env.artifactDir, "junk.tgz"), gzipSync(Buffer.from("not a tar")));
    const record = {
      id: 1,
      name: "junk",
      digest: "",
      size: 0,
      files: 0,
      createdAt: "",
      expiresAt: "",
    };
    await writeFile(join(kit.env.artifactDir, "junk.json"), JSON.stringify(record));
    const result = await kit.run(DOWNLOAD_ARTIFACT, { name: "junk", path: "dest" });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringContaining("artifact 'junk'"),
    });
  });

  test("artifacts named '.' or '..' do not get folders of their own", async () => {
    await plant("..", [{ path: "f.txt", body: "x" }]);
    const result = await kit.run(DOWNLOAD_ARTIFACT, { path: "dest" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("'..'") });
    expect(existsSync(join(kit.workspace, "f.txt"))).toBe(false);
  });
});

import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ZipFile } from "yazl";
import { InputError } from "../../../common/errors.js";
import { createArchive } from "./create-archive.js";
import { UnsafeArchiveError } from "./extract-archive.js";
import { extractZip, zipEntryCount, zipEntryProblem, zipFromTar } from "./zip-archive.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "trunkline-zip-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function zip(file: string, entries: [string, string, number?][]): Promise<Buffer> {
  const archive = new ZipFile();
  const done = pipeline(archive.outputStream, createWriteStream(file));
  for (const [name, content, mode] of entries) {
    archive.addBuffer(Buffer.from(content), name, mode === undefined ? {} : { mode });
  }
  archive.end();
  await done;
  return readFile(file);
}

describe("zip entries", () => {
  test.each([
    ["app.js", 0o100644, undefined],
    ["dir/", 0o040755, undefined],
    ["../escape.txt", 0o100644, "its path contains '..'"],
    ["/etc/passwd", 0o100644, "its path is absolute"],
    ["C:/x", 0o100644, "its path is absolute"],
    ["link", 0o120777, "it is a symbolic link, which an artifact never holds"],
  ])("%s (mode %o): %s", (fileName, mode, problem) => {
    const entry = {
      fileName,
      externalFileAttributes: mode << 16,
      getLastModDate: () => new Date(),
    };
    expect(zipEntryProblem(entry)).toBe(problem);
  });
});

describe("extractZip", () => {
  test("writes files and folders, executable bits as git keeps them, and counts entries", async () => {
    const file = join(dir, "a.zip");
    await zip(file, [
      ["app.js", "app\n"],
      ["sub/run.sh", "#!/bin/sh\n", 0o100755],
    ]);
    expect(await zipEntryCount(file)).toBe(2);
    const out = join(dir, "out");
    expect(await extractZip(file, out, { label: "artifact 'a'" })).toBe(2);
    expect(await readFile(join(out, "app.js"), "utf8")).toBe("app\n");
    const { statSync } = await import("node:fs");
    expect(statSync(join(out, "sub/run.sh")).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, "app.js")).mode & 0o777).toBe(0o644);
  });

  test("an entry that climbs out is refused and nothing is written", async () => {
    const file = join(dir, "evil.zip");
    // yazl refuses such a name, so it is patched into the bytes (header and directory).
    const bytes = await zip(file, [
      ["ok.txt", "fine"],
      ["xx/evil.txt", "evil"],
    ]);
    await writeFile(file, Buffer.from(bytes.toString("latin1").replaceAll("xx/", "../"), "latin1"));
    const out = join(dir, "deep", "out");
    await expect(extractZip(file, out, { label: "artifact 'evil'" })).rejects.toThrow(InputError);
    await expect(readFile(join(dir, "deep", "evil.txt"))).rejects.toThrow();
    await expect(readFile(join(out, "ok.txt"))).rejects.toThrow();
  });

  test("a link entry is refused; a file that is no zip is named", async () => {
    const file = join(dir, "link.zip");
    await zip(file, [["link", "/etc/passwd", 0o120777]]);
    await expect(extractZip(file, join(dir, "o"), { label: "artifact 'l'" })).rejects.toThrow(
      new UnsafeArchiveError(
        "refusing to extract 'link' from artifact 'l': it is a symbolic link, which an artifact never holds",
      ),
    );
    await writeFile(join(dir, "junk.zip"), "not a zip");
    await expect(
      extractZip(join(dir, "junk.zip"), join(dir, "o"), { label: "artifact 'j'" }),
    ).rejects.toThrow(/artifact 'j' is not a readable zip archive/);
  });
});

describe("zipFromTar", () => {
  test("the built-in action's tar artifact comes out as a zip of the same files", async () => {
    const src = join(dir, "src");
    await mkdir(join(src, "nested"), { recursive: true });
    await writeFile(join(src, "a.txt"), "A");
    await writeFile(join(src, "nested", "b.txt"), "B");
    const tgz = join(dir, "store", "report.tgz");
    await mkdir(join(dir, "store"));
    await createArchive(tgz, src, ["a.txt", "nested/b.txt"], {
      followSymlinks: true,
      gzipLevel: 6,
    });
    const file = join(dir, "report.zip");
    await zipFromTar(tgz, createWriteStream(file), "artifact 'report'");
    const out = join(dir, "out");
    expect(await extractZip(file, out, { label: "x" })).toBe(2);
    expect(await readFile(join(out, "nested", "b.txt"), "utf8")).toBe("B");
    // Its scratch folder is gone.
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(join(dir, "store"))).toEqual(["report.tgz"]);
  });
});

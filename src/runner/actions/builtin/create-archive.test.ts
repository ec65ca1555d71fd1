import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list } from "tar";
import { describe, expect, test } from "vitest";
import { createArchive } from "./create-archive.js";
import { extractArchive } from "./extract-archive.js";

describe("createArchive", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-archive-"));
  writeFileSync(join(dir, "kept.txt"), "kept");

  test("a file that vanished before packing is left out when the caller allows it", async () => {
    const vanished: string[] = [];
    const file = join(dir, "ok.tgz");
    await createArchive(file, dir, ["kept.txt", "gone.log"], {
      followSymlinks: false,
      gzipLevel: 1,
      onVanished: (p) => vanished.push(p),
    });
    const entries: string[] = [];
    await list({ file, onReadEntry: (e) => entries.push(e.path) });
    expect(entries).toEqual(["kept.txt"]);
    expect(vanished).toEqual(["gone.log"]);
  });

  test("otherwise it fails the archive", async () => {
    await expect(
      createArchive(join(dir, "bad.tgz"), dir, ["kept.txt", "gone.log"], {
        followSymlinks: false,
        gzipLevel: 1,
      }),
    ).rejects.toThrow(/ENOENT/);
  });

  test("two restores of one archive into one directory at once both succeed", async () => {
    const source = mkdtempSync(join(tmpdir(), "trunkline-archive-src-"));
    for (let i = 0; i < 200; i++) writeFileSync(join(source, `f${i}.txt`), `content ${i}`);
    const file = join(dir, "many.tgz");
    await createArchive(
      file,
      source,
      Array.from({ length: 200 }, (_, i) => `f${i}.txt`),
      { followSymlinks: false, gzipLevel: 1 },
    );
    const target = mkdtempSync(join(tmpdir(), "trunkline-archive-dst-"));
    const counts = await Promise.all([
      extractArchive(file, target, { label: "cache 'a'" }),
      extractArchive(file, target, { label: "cache 'b'" }),
      extractArchive(file, target, { label: "cache 'c'" }),
    ]);
    expect(counts).toEqual([200, 200, 200]);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(target, "f199.txt"), "utf8")).toBe("content 199");
  });
});

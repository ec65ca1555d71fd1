import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list } from "tar";
import { describe, expect, test } from "vitest";
import { createArchive } from "./create-archive.js";

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
});

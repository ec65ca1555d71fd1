import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { tempDirs } from "../../test/helpers/temp-dirs.js";
import { openStore } from "./open-store.js";
import { keepDataDirPrivate } from "./private-files.js";

const { make: tempDir } = tempDirs("private-files");
const mode = (path: string) => statSync(path).mode & 0o777;

test("an install left readable by all is made private: the directory 0700, keys, tokens and database 0600", () => {
  const dataDir = join(tempDir(), "data");
  mkdirSync(dataDir, { mode: 0o755 });
  for (const name of ["master.key", "admin-token", "trunkline.db", "trunkline.db-wal"]) {
    writeFileSync(join(dataDir, name), "x", { mode: 0o644 });
  }
  writeFileSync(join(dataDir, "notes.txt"), "x", { mode: 0o644 });
  keepDataDirPrivate(dataDir);
  expect(mode(dataDir)).toBe(0o700);
  for (const name of ["master.key", "admin-token", "trunkline.db", "trunkline.db-wal"]) {
    expect(mode(join(dataDir, name))).toBe(0o600);
  }
  // Not one of the server's: left as it was (the directory keeps others out anyway).
  expect(mode(join(dataDir, "notes.txt"))).toBe(0o644);
});

test("a new SQLite store is private from its first write: database, WAL and shared memory 0600", async () => {
  const dataDir = join(tempDir(), "fresh");
  const store = await openStore({ dataDir });
  try {
    await store.db.selectFrom("tokens").select("id").execute();
    expect(mode(dataDir)).toBe(0o700);
    const files = readdirSync(dataDir).filter((f) => f.startsWith("trunkline.db"));
    expect(files).toEqual(
      expect.arrayContaining(["trunkline.db", "trunkline.db-wal", "trunkline.db-shm"]),
    );
    for (const f of files) expect(mode(join(dataDir, f))).toBe(0o600);
  } finally {
    await store.close();
  }
});

import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";

/** The names in a data directory only the server's user may read: keys, tokens, the database. */
export const PRIVATE_FILES: readonly string[] = [
  "master.key",
  "admin-token",
  "trunkline.db",
  "trunkline.db-wal",
  "trunkline.db-shm",
  "trunkline.db-journal",
];

/**
 * Keeps a data directory private, on every start (an install made before this, or a file
 * someone copied in, is put right): the directory is made if missing and given mode 0700,
 * and each of {@link PRIVATE_FILES} that exists mode 0600. What the server holds (the master
 * key, the admin token, the database with every token hash and sealed secret) is then out of
 * reach of every other user of the machine, the jobs' user among them.
 */
export function keepDataDirPrivate(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  for (const name of PRIVATE_FILES) {
    try {
      chmodSync(join(dataDir, name), 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

/**
 * Creates `file` empty with mode 0600 if it does not exist (an empty file is an empty SQLite
 * database), so SQLite, which gives its WAL and shared-memory files the database's mode, never
 * makes any of them readable by others.
 */
export function createPrivateFile(file: string): void {
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
}

import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  writeFileSync,
  writeSync,
} from "node:fs";

// A job directory that serves job after job (see the host executor's `reuse`) rewrites the
// same few files each job: its scripts, the event, the step files. On ext4 without a journal
// and mounted with `discard` (this project's CI machines), freeing a file's blocks costs ten
// times more than writing them, so these files are written over in place, never truncated
// to nothing first, and keep their blocks when the new content is about as long.

/** Files larger than this are truncated by {@link blankFileSync}, not written over. */
const BLANK_LIMIT = 64 * 1024;

/**
 * Writes `data` to `path`: over the file's old content, then cut to length, or as a new file
 * when there is none. A symbolic link at `path` is refused (ELOOP), never followed.
 */
export function rewriteFileSync(path: string, data: string | Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    writeFileSync(path, data, { flag: "wx" });
    return;
  }
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    for (let done = 0; done < bytes.length; ) {
      done += writeSync(fd, bytes, done, bytes.length - done, done);
    }
    if (fstatSync(fd).size !== bytes.length) ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Erases what the file at `path` holds: written over with zeros in place (same length, so no
 * block is freed), or truncated when it is large. Nothing is done to an empty file.
 */
export function blankFileSync(path: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return;
    if (size > BLANK_LIMIT) {
      ftruncateSync(fd, 0);
      return;
    }
    const zeros = Buffer.alloc(size);
    for (let done = 0; done < size; ) done += writeSync(fd, zeros, done, size - done, done);
  } finally {
    closeSync(fd);
  }
}

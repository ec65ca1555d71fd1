import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";

// A job directory that serves job after job (see the host executor's `reuse`) rewrites the
// same few files each job: its scripts, the event, the step files. On ext4 without a journal
// and mounted with `discard` (this project's CI machines), freeing a file's blocks costs ten
// times more than writing them, so these files are written over in place, never truncated
// to nothing first, and keep their blocks when the new content is about as long.
//
// A job's steps run as the runner's user and may have replaced such a file by anything: a
// link (symbolic or hard) to a file elsewhere, a FIFO (opening it to write would wait for a
// reader for ever), a read-only file, a folder. Only a regular file with no other name is
// written in place; anything else is removed and a new file made, so nothing outside the
// job's directory is ever written, and no open blocks.

/** Files larger than this are truncated by {@link blankFileSync}, not written over. */
const BLANK_LIMIT = 64 * 1024;

/**
 * Opens `path` to write in place if it is a regular file of one name, with its size then;
 * else undefined.
 */
function openInPlace(path: string): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const stat = fstatSync(fd);
  if (stat.isFile() && stat.nlink === 1) return { fd, size: stat.size };
  closeSync(fd);
  return undefined;
}

/**
 * Writes `data` to `path`: over the file's old content, then cut to length, when it is a
 * regular file of one name; otherwise whatever is there is removed (never followed) and a
 * new file made.
 */
export function rewriteFileSync(path: string, data: string | Uint8Array): void {
  const file = openInPlace(path);
  if (file === undefined) {
    rmSync(path, { recursive: true, force: true });
    writeFileSync(path, data, { flag: "wx" });
    return;
  }
  const { fd, size } = file;
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    for (let done = 0; done < bytes.length; ) {
      done += writeSync(fd, bytes, done, bytes.length - done, done);
    }
    // Writing from the start only ever grows the file to the new length: what the old
    // content had beyond it is cut.
    if (size > bytes.length) ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Erases what the file at `path` holds: written over with zeros in place (same length, so no
 * block is freed), or truncated when it is large; nothing is done to an empty file. Anything
 * but a regular file of one name is removed instead.
 */
export function blankFileSync(path: string): void {
  const file = openInPlace(path);
  if (file === undefined) {
    rmSync(path, { recursive: true, force: true });
    return;
  }
  const { fd, size } = file;
  try {
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

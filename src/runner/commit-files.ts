import { spawn } from "node:child_process";
import {
  copyFileSync,
  type Dirent,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  type Stats,
  statSync,
  symlinkSync,
} from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { extract } from "tar";

/**
 * Makes `to` (made if missing) an exact copy of the directory tree `from`: files with their
 * mode, symbolic links as links (never followed), directories recursively; other kinds are
 * left out, and whatever `to` holds that `from` lacks is removed. What is already there is
 * reused: a regular file is rewritten in place and a directory kept, so a job directory that
 * serves job after job (see `HostExecutor`'s `reuse`) makes no new inode for an unchanged
 * tree, and a file whose content is unchanged is not written at all (on ext4 without a
 * journal, making inodes soon after deleting others, and freeing blocks, are the costliest
 * file operations of a short job). A file linked from elsewhere, or that the previous job made
 * a link, a directory or read-only, is replaced instead, so nothing outside `to` is written.
 * Synchronous, with three calls or so per file, several times cheaper than `fs.cp`. The tree
 * `from` is the runner's own (an unpacked commit), not a job's.
 */
export function copyTree(from: string, to: string): void {
  let fresh = false;
  try {
    fresh = mkdirSync(to, { recursive: true }) !== undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // A file (or link) where the tree goes.
    rmSync(to, { force: true });
    mkdirSync(to);
    fresh = true;
  }
  syncEntries(from, to, fresh);
}

function syncEntries(from: string, to: string, fresh: boolean): void {
  const stale = new Map<string, Dirent>();
  if (!fresh)
    for (const entry of readdirSync(to, { withFileTypes: true })) stale.set(entry.name, entry);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const there = stale.get(entry.name);
    stale.delete(entry.name);
    if (entry.isDirectory()) {
      const keep = there?.isDirectory() === true;
      if (there && !keep) rmSync(target, { recursive: true, force: true });
      if (!keep) mkdirSync(target);
      syncEntries(source, target, !keep);
    } else if (entry.isSymbolicLink()) {
      const link = readlinkSync(source);
      if (there?.isSymbolicLink() && readlinkSync(target) === link) continue;
      if (there) rmSync(target, { recursive: true, force: true });
      symlinkSync(link, target);
    } else if (entry.isFile()) {
      if (there) {
        const now = there.isFile() ? lstatSync(target) : undefined;
        if (now?.nlink !== 1) rmSync(target, { recursive: true, force: true });
        else if (sameFile(source, target, now)) continue;
      }
      try {
        copyFileSync(source, target);
      } catch (err) {
        // Made read-only (or otherwise unwritable) by the last job: replaced.
        if (!there) throw err;
        rmSync(target, { force: true });
        copyFileSync(source, target);
      }
    }
  }
  for (const name of stale.keys()) rmSync(join(to, name), { recursive: true, force: true });
}

/** Files up to this size are compared before they are copied over a file already there. */
const COMPARE_LIMIT = 1024 * 1024;

/**
 * Whether the file `target` (lstat `now`) already has the content and mode of `source`, so
 * copying would only churn its blocks. Compared byte for byte, not by times: a step can
 * change a file within the file system's clock tick (or set its times back).
 */
function sameFile(source: string, target: string, now: Stats): boolean {
  const was = statSync(source);
  if (was.size !== now.size || was.mode !== now.mode || now.size > COMPARE_LIMIT) return false;
  return now.size === 0 || readFileSync(source).equals(readFileSync(target));
}

/**
 * The files of a commit (`git archive <treeish>`, e.g. `<sha>` or `<sha>:sub/dir`) of the
 * repository at `root` (bare or not), unpacked into `dest` in-process; false when git
 * refuses the treeish. This is how a job's workspace gets the commit being built.
 */
export async function archiveInto(root: string, treeish: string, dest: string): Promise<boolean> {
  await mkdir(dest, { recursive: true });
  const child = spawn("git", ["-C", root, "archive", "--format=tar", treeish], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const unpack = extract({ cwd: dest, strict: true });
  const unpacked = new Promise<void>((resolve, reject) => {
    unpack.on("close", () => resolve());
    unpack.on("finish", () => resolve());
    unpack.on("error", reject);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(null));
    child.on("close", (code) => resolve(code));
  });
  child.stdout.pipe(unpack);
  try {
    const [code] = await Promise.all([exited, unpacked]);
    return code === 0;
  } catch {
    return false;
  }
}

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  chmodSync,
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
import { join, resolve } from "node:path";

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
  let there: Stats | undefined;
  try {
    there = lstatSync(to);
  } catch {
    // Not there yet.
  }
  if (there && !there.isDirectory()) {
    // A file, or a link (to a folder too: it is removed, never followed), where the tree goes.
    rmSync(to, { force: true });
    there = undefined;
  }
  if (!there) {
    mkdirSync(to, { recursive: true });
    fresh = true;
  }
  syncEntries(from, to, fresh);
}

function syncEntries(from: string, to: string, fresh: boolean): void {
  const stale = new Map<string, Dirent>();
  if (!fresh) {
    // A folder the last job made read-only (or unreadable) gets the commit's mode back.
    const mode = statSync(from).mode & 0o7777;
    if ((lstatSync(to).mode & 0o7777) !== mode) chmodSync(to, mode);
    for (const entry of readdirSync(to, { withFileTypes: true })) stale.set(entry.name, entry);
  }
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
 * The files of a commit (`<sha>`, or `<sha>:sub/dir` for a folder of it) of the repository
 * at `root` (bare or not), written into `dest` by git itself: the tree is read into an index
 * of its own (the repository's index and work tree are not touched), then checked out into
 * `dest`. False when git refuses the treeish. This is how a job's workspace gets the commit
 * being built: as `actions/checkout` does it (attributes such as `export-ignore` are not
 * applied, line endings are), with git's own refusal of paths such as `..` or `.git`, and
 * without an archive format in between (git and a loaded tar library cost more).
 */
export async function checkoutInto(root: string, treeish: string, dest: string): Promise<boolean> {
  mkdirSync(dest, { recursive: true });
  const index = `${resolve(dest)}.index-${randomUUID()}`;
  const env = { ...process.env, GIT_INDEX_FILE: index };
  try {
    return (
      (await git(["-C", root, "read-tree", treeish], env)) &&
      (await git(
        ["-C", root, `--work-tree=${resolve(dest)}`, "checkout-index", "--all", "--force"],
        env,
      ))
    );
  } finally {
    rmSync(index, { force: true });
  }
}

function git(args: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn("git", args, { env, stdio: "ignore" });
    child.on("error", () => done(false));
    child.on("close", (code) => done(code === 0));
  });
}

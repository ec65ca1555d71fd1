import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { extract } from "tar";

/**
 * Copies the directory tree `from` into `to` (made if missing): files with their mode,
 * symbolic links as links (never followed), directories recursively; other kinds are left
 * out. Synchronous, with three calls or so per file: a job's workspace is copied from an
 * unpacked commit this way, several times cheaper than `fs.cp` (which checks every path
 * first). The tree is the runner's own (an unpacked commit), not a job's.
 */
export function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  copyEntries(from, to);
}

function copyEntries(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(target);
      copyEntries(source, target);
    } else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isFile()) copyFileSync(source, target);
  }
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

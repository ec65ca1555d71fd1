import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { extract } from "tar";

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

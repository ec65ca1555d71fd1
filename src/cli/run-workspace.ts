import { spawn } from "node:child_process";
import { cp, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { extract } from "tar";
import { repoInfo } from "./git.js";

/**
 * Exports the files of commit `sha` of the repository at `root` into `dest`, once per run;
 * each job's workspace is then a copy of it. Outside a git repository (or without a commit)
 * the working directory is copied instead, without `.git`.
 */
export async function exportSource(
  root: string,
  sha: string | undefined,
  dest: string,
): Promise<"commit" | "working-tree"> {
  await mkdir(dest, { recursive: true });
  const info = await repoInfo(root);
  if (info && sha && !/^0+$/.test(sha)) {
    // A project in a sub-folder of a repository gets that folder's files, as its own root.
    const treeish = info.prefix ? `${sha}:${info.prefix}` : sha;
    if (await archiveInto(root, treeish, dest)) return "commit";
  }
  for (const entry of await readdir(root)) {
    if (entry === ".git") continue;
    await cp(join(root, entry), join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  return "working-tree";
}

/** `git archive <treeish>` unpacked into `dest` in-process; false when git refuses it. */
async function archiveInto(root: string, treeish: string, dest: string): Promise<boolean> {
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

/** Fills a job's workspace from the exported source. */
export async function seedWorkspace(source: string, workspace: string): Promise<void> {
  await cp(source, workspace, { recursive: true, verbatimSymlinks: true });
}

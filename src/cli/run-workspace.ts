import { cp, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { checkoutInto, copyTree } from "../runner/commit-files.js";
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
    if (await checkoutInto(root, treeish, dest)) return "commit";
  }
  for (const entry of await readdir(root)) {
    if (entry === ".git") continue;
    await cp(join(root, entry), join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  return "working-tree";
}

/** Fills a job's workspace from the exported source. */
export async function seedWorkspace(source: string, workspace: string): Promise<void> {
  copyTree(source, workspace);
}

import { execFile } from "node:child_process";
import { cp, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

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
  if (sha && !/^0+$/.test(sha)) {
    try {
      // A project in a sub-folder of a repository gets that folder's files, as its own root.
      const { stdout } = await run("git", ["-C", root, "rev-parse", "--show-prefix"]);
      const prefix = stdout.trim().replace(/\/$/, "");
      const treeish = prefix ? `${sha}:${prefix}` : sha;
      await run(
        "sh",
        [
          "-c",
          'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
          "export",
          root,
          treeish,
          dest,
        ],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return "commit";
    } catch {
      // Not a commit of this repository: fall back to the working tree.
    }
  }
  for (const entry of await readdir(root)) {
    if (entry === ".git") continue;
    await cp(join(root, entry), join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  return "working-tree";
}

/** Fills a job's workspace from the exported source. */
export async function seedWorkspace(source: string, workspace: string): Promise<void> {
  await cp(source, workspace, { recursive: true, verbatimSymlinks: true });
}

import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Where hosted repositories live: bare repositories under `<dataDir>/repos`. */
export function repositoryPath(dataDir: string, name: string): string {
  return join(dataDir, "repos", `${name}.git`);
}

/** Whether git takes `name` as a branch name (`git check-ref-format --branch`). */
export async function isBranchName(name: string): Promise<boolean> {
  return (
    (await git(["check-ref-format", "--branch", name]).then(
      () => true,
      () => false,
    )) && name !== "HEAD"
  );
}

/**
 * Creates the bare repository of a repository (hosted or mirrored alike: whether it takes
 * pushes is decided per request by the git endpoint, not by its config). A failed creation
 * leaves no folder behind, unless the folder was there before.
 */
export async function createBareRepository(
  dataDir: string,
  name: string,
  defaultBranch: string,
): Promise<void> {
  const path = repositoryPath(dataDir, name);
  await mkdir(dirname(path), { recursive: true });
  const created = await mkdir(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST") return false;
      throw err;
    },
  );
  try {
    await git(["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, path]);
  } catch (err) {
    if (created) await rm(path, { recursive: true, force: true });
    throw err;
  }
}

function git(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`git ${args[0]}: ${err.trim()}`)),
    );
  });
}

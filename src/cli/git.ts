import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs git in `cwd` with arguments passed as a list (never through a shell); undefined on failure. */
async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run("git", args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The commit HEAD points at, or undefined outside a repository or before the first commit. */
export function headSha(cwd: string): Promise<string | undefined> {
  return git(cwd, ["rev-parse", "--verify", "-q", "HEAD"]);
}

/** The full ref of the checked-out branch (`refs/heads/main`), or undefined when detached. */
export function currentRef(cwd: string): Promise<string | undefined> {
  return git(cwd, ["symbolic-ref", "-q", "HEAD"]);
}

/** Files that differ between two commits, or undefined if git cannot tell. */
export async function changedFiles(
  cwd: string,
  from: string,
  to: string,
): Promise<string[] | undefined> {
  const out = await git(cwd, ["diff", "--name-only", "--no-renames", from, to, "--"]);
  return out === undefined ? undefined : out.split("\n").filter((l) => l.length > 0);
}

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** Where a directory stands in its git repository. */
export interface RepoInfo {
  /** The directory's path inside the repository (`examples/app`), "" at the top. */
  readonly prefix: string;
  /** The commit HEAD points at; undefined before the first commit. */
  readonly sha?: string;
  /** The checked-out branch (`refs/heads/main`); undefined when HEAD is detached. */
  readonly ref?: string;
}

const infos = new Map<string, Promise<RepoInfo | undefined>>();

/**
 * Prefix, HEAD commit and branch of the repository at `cwd`, from one git process, remembered
 * per directory for the life of the command. Undefined outside a repository.
 */
export function repoInfo(cwd: string): Promise<RepoInfo | undefined> {
  let info = infos.get(cwd);
  if (!info) {
    info = (async () => {
      const out = await git(cwd, [
        "rev-parse",
        "--show-prefix",
        "HEAD",
        "--symbolic-full-name",
        "HEAD",
      ]);
      if (out === undefined) {
        // Outside a repository, or before its first commit.
        const prefix = await git(cwd, ["rev-parse", "--show-prefix"]);
        return prefix === undefined ? undefined : { prefix: prefix.replace(/\/$/, "") };
      }
      const lines = `${out}`.split("\n");
      // --show-prefix prints an empty line at the top of the repository, which trim() removed.
      const [prefix, sha, ref] = lines.length === 3 ? lines : ["", ...lines];
      return {
        prefix: (prefix ?? "").replace(/\/$/, ""),
        ...(sha && /^[0-9a-f]{40,64}$/.test(sha) ? { sha } : {}),
        ...(ref?.startsWith("refs/") ? { ref } : {}),
      };
    })();
    infos.set(cwd, info);
  }
  return info;
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

/** A commit's whole message, or undefined when git cannot read it. */
export async function commitMessage(cwd: string, sha: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{7,64}$/.test(sha)) return undefined;
  return git(cwd, ["show", "-s", "--format=%B", sha, "--"]);
}

/** The commit a revision names (`HEAD`, a branch, a tag, a SHA), or undefined. */
export async function resolveCommit(cwd: string, revision: string): Promise<string | undefined> {
  if (revision.startsWith("-")) return undefined;
  return git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${revision}^{commit}`]);
}

/**
 * The working tree of the repository at `cwd` as a commit on top of `head` (tracked files as
 * they are, untracked ones that are not ignored, deletions), made without touching the
 * user's index, HEAD or refs; with how many paths differ from `head`. Undefined when the tree
 * is clean (or git cannot tell).
 */
export async function workingTreeCommit(
  cwd: string,
  head: string,
): Promise<{ commit: string; changed: number } | undefined> {
  const status = await git(cwd, ["status", "--porcelain", "--untracked-files=normal", "--", "."]);
  if (!status) return undefined;
  const top = await git(cwd, ["rev-parse", "--show-toplevel"]);
  if (!top) return undefined;
  const index = join(tmpdir(), `trunkline-index-${randomUUID()}`);
  const env = {
    ...process.env,
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: "trunkline",
    GIT_AUTHOR_EMAIL: "trunkline@localhost",
    GIT_COMMITTER_NAME: "trunkline",
    GIT_COMMITTER_EMAIL: "trunkline@localhost",
  };
  const inIndex = async (args: string[]) => {
    const { stdout } = await run("git", args, { cwd: top, env, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  };
  try {
    await inIndex(["read-tree", head]);
    await inIndex(["add", "--all", "--", "."]);
    const tree = await inIndex(["write-tree"]);
    const commit = await inIndex([
      "commit-tree",
      tree,
      "-p",
      head,
      "-m",
      `the working tree on ${head.slice(0, 12)}`,
    ]);
    return { commit, changed: status.split("\n").filter((l) => l.trim() !== "").length };
  } catch {
    return undefined;
  } finally {
    await rm(index, { force: true });
  }
}

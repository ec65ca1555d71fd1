import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { archiveInto } from "../runner/commit-files.js";
import type { JobSource } from "./agent-protocol.js";

const exec = promisify(execFile);

/**
 * Puts a job's commit into its workspace. A repository on this machine (a path) is read in
 * place; a remote one is fetched (that one commit, shallow) into a scratch repository first.
 * Resolves to the repository the job's actions read from (for `actions/checkout`).
 */
export async function materialiseSource(
  source: JobSource,
  workspace: string,
  scratch: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  if (existsSync(source.repository)) {
    await archiveInto(source.repository, source.sha, workspace);
    return source.repository;
  }
  const repo = await mkdtemp(join(scratch || tmpdir(), "source-"));
  const config = Object.entries(headers).flatMap(([k, v]) => ["-c", `http.extraHeader=${k}: ${v}`]);
  try {
    await exec("git", ["init", "-q", "--bare", repo]);
    await exec(
      "git",
      [
        ...config,
        "-C",
        repo,
        "fetch",
        "-q",
        "--depth=1",
        "--end-of-options",
        source.repository,
        source.sha,
      ],
      { env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
    );
    await archiveInto(repo, source.sha, workspace);
    return repo;
  } catch (err) {
    await rm(repo, { recursive: true, force: true });
    throw err;
  }
}

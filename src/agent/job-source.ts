import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { JobSource } from "./agent-protocol.js";

const exec = promisify(execFile);

/** Fetches into one cache repository at a time, so two jobs never race on the same one. */
const fetching = new Map<string, Promise<void>>();
/** Commits known to be in a cache repository (`repo@sha`): no need to ask git again. */
const present = new Set<string>();

/**
 * The repository on this machine that holds a job's commit. A repository on this machine (a
 * path) is used in place. A remote one is fetched into a cache repository kept per remote
 * under `cacheDir` (only the commit, shallow, and only when the cache does not have it
 * yet), so jobs of the same commit fetch once.
 */
export async function sourceRepository(
  source: JobSource,
  cacheDir: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  if (existsSync(source.repository)) return source.repository;
  const repo = join(
    cacheDir,
    `${createHash("sha256").update(source.repository).digest("hex").slice(0, 16)}.git`,
  );
  const previous = fetching.get(repo) ?? Promise.resolve();
  const mine = previous.then(() => fetchInto(repo, source, headers));
  fetching.set(
    repo,
    mine.catch(() => undefined),
  );
  await mine;
  return repo;
}

async function fetchInto(
  repo: string,
  source: JobSource,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  if (present.has(`${repo}@${source.sha}`)) return;
  await fetchMissing(repo, source, headers);
  present.add(`${repo}@${source.sha}`);
}

async function fetchMissing(
  repo: string,
  source: JobSource,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  if (!existsSync(repo)) {
    await mkdir(repo, { recursive: true });
    await exec("git", ["init", "-q", "--bare", repo]);
  }
  const has = await exec("git", ["-C", repo, "cat-file", "-e", `${source.sha}^{commit}`]).then(
    () => true,
    () => false,
  );
  if (has) return;
  const config = Object.entries(headers).flatMap(([k, v]) => ["-c", `http.extraHeader=${k}: ${v}`]);
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
}

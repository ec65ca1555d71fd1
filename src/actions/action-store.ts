import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { git, gitFailure } from "./action-git.js";
import type { ActionSource, Located, Missed } from "./action-sources.js";

/** A remote action on disk: its repository's files, at a commit when it came from git. */
export interface StoredAction {
  /** The action's repository root. */
  readonly root: string;
  /** The commit the ref resolved to; undefined for a plain-directory mirror. */
  readonly commit?: string;
  /** Where it came from (a mirror's path, a URL), for the log. */
  readonly from?: string;
  /** It was fetched now (not found in the store). */
  readonly fetched?: boolean;
}

/** Why an action cannot be had: the reason, and every place tried. */
export interface StoreMiss {
  readonly error: string;
  readonly tried: readonly string[];
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/**
 * The persistent store of remote actions of one machine (or one server), shared by every run:
 * `git/<owner>/<repo>.git` holds each repository's fetched commits (shallow, each pinned by a
 * ref `refs/trunkline/<sha>`), `trees/<owner>/<repo>/<sha>` each commit's files, exported
 * once. `owner/repo@ref` is looked for in `sources` in order (mirrors first); a full commit
 * SHA already in the store needs no source at all.
 */
export class ActionStore {
  /** One fetch or export at a time per repository in this process (git's locks are per repository). */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(
    /** The store's directory. */
    readonly dir: string,
    private readonly sources: readonly ActionSource[],
    private readonly options: {
      /**
       * When no source has a ref, the commit it last resolved to here stands for it (offline
       * work: `--offline`).
       */
      readonly remembered?: boolean;
    } = {},
  ) {}

  /** Every place looked in for `owner/repo`, in order. */
  places(owner: string, repo: string): string[] {
    const places = this.sources.flatMap((s) => s.place(owner, repo) ?? []);
    if (this.options.remembered) places.push(`the refs remembered in ${this.dir}`);
    return places;
  }

  /** The action's files, fetched and exported when the store does not have them yet. */
  async resolve(owner: string, repo: string, ref: string): Promise<StoredAction | StoreMiss> {
    const bad = badName(owner, repo);
    if (bad) return bad;
    const tree = (sha: string) => join(this.dir, "trees", owner, repo, sha);
    if (FULL_SHA.test(ref) && existsSync(tree(ref))) return { root: tree(ref), commit: ref };
    const found = await this.locate(owner, repo, ref);
    if ("error" in found) return found;
    if ("dir" in found) return { root: found.dir, from: found.dir };
    const root = tree(found.commit);
    if (existsSync(root)) return { root, commit: found.commit, from: found.from };
    return this.serially(`${owner}/${repo}`, async () => {
      if (existsSync(root)) return { root, commit: found.commit, from: found.from };
      const gitDir = await this.fetchCommit(owner, repo, found);
      const tmp = `${root}.tmp-${randomUUID()}`;
      await mkdir(tmp, { recursive: true });
      try {
        await exportTree(gitDir, found.commit, tmp);
        await rename(tmp, root).catch(async (err: NodeJS.ErrnoException) => {
          // Another process sharing the store exported the same commit first: theirs stands.
          if ((err.code === "ENOTEMPTY" || err.code === "EEXIST") && existsSync(root))
            await rm(tmp, { recursive: true, force: true });
          else throw err;
        });
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      return { root, commit: found.commit, from: found.from, fetched: true };
    }).catch((err: Error) => ({
      error: `cannot fetch ${owner}/${repo}@${ref} from ${found.from}: ${gitFailure(err)}`,
      tried: this.places(owner, repo),
    }));
  }

  /**
   * The commit `ref` names, in this store's git repository of `owner/repo` (fetched when
   * missing; a plain-directory mirror is committed there as it is now), for serving over git.
   */
  async commit(
    owner: string,
    repo: string,
    ref: string,
  ): Promise<{ commit: string; gitDir: string } | StoreMiss> {
    const bad = badName(owner, repo);
    if (bad) return bad;
    const gitDir = this.gitDir(owner, repo);
    if (FULL_SHA.test(ref) && (await hasCommit(gitDir, ref))) return { commit: ref, gitDir };
    const found = await this.locate(owner, repo, ref);
    if ("error" in found) return found;
    return this.serially(`${owner}/${repo}`, async () => {
      if ("dir" in found) return { commit: await importDirectory(gitDir, found.dir), gitDir };
      if (!(await hasCommit(gitDir, found.commit))) await this.fetchCommit(owner, repo, found);
      return { commit: found.commit, gitDir };
    }).catch((err: Error) => ({
      error: `cannot fetch ${owner}/${repo}@${ref}: ${gitFailure(err)}`,
      tried: this.places(owner, repo),
    }));
  }

  private gitDir(owner: string, repo: string): string {
    return join(this.dir, "git", owner, `${repo}.git`);
  }

  private async locate(owner: string, repo: string, ref: string): Promise<Located | StoreMiss> {
    const misses: string[] = [];
    for (const source of this.sources) {
      if (source.place(owner, repo) === undefined) continue;
      const found: Located | Missed = await source.locate(owner, repo, ref);
      if ("missed" in found) {
        misses.push(found.missed);
        continue;
      }
      if ("commit" in found) await this.remember(owner, repo, ref, found.commit);
      return found;
    }
    if (this.options.remembered) {
      const commit = (await this.rememberedRefs(owner, repo))[ref];
      const gitDir = this.gitDir(owner, repo);
      if (commit && (await hasCommit(gitDir, commit))) return { commit, from: gitDir };
      misses.push(`the store does not remember ${ref}`);
    }
    const tried = this.places(owner, repo);
    return {
      error:
        tried.length === 0
          ? `no source serves ${owner}/${repo}: give one with --actions-url or --action-mirror`
          : `${owner}/${repo}@${ref} was not found (${misses.join("; ")})`,
      tried,
    };
  }

  /** Fetches just `found.commit` (shallow) into the store's repository; returns that repository. */
  private async fetchCommit(
    owner: string,
    repo: string,
    found: Extract<Located, { commit: string }>,
  ): Promise<string> {
    const gitDir = this.gitDir(owner, repo);
    if (!existsSync(join(gitDir, "HEAD"))) {
      await mkdir(gitDir, { recursive: true });
      await git(["init", "-q", "--bare", gitDir]);
    }
    if (await hasCommit(gitDir, found.commit)) return gitDir;
    await retryOnLock(() =>
      git(
        [
          "-C",
          gitDir,
          "fetch",
          "-q",
          "--depth",
          "1",
          "--no-tags",
          "--no-write-fetch-head",
          "--",
          found.from,
          `+${found.commit}:refs/trunkline/${found.commit}`,
        ],
        found.env,
      ),
    );
    return gitDir;
  }

  private refsFile(owner: string, repo: string): string {
    return join(this.dir, "refs", owner, `${repo}.json`);
  }

  /** What each ref of `owner/repo` last resolved to here. */
  private async rememberedRefs(owner: string, repo: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.refsFile(owner, repo), "utf8")) as Record<
        string,
        string
      >;
    } catch {
      return {};
    }
  }

  /** Keeps what `ref` resolved to, for offline work; a lost race only loses a memory. */
  private async remember(owner: string, repo: string, ref: string, commit: string): Promise<void> {
    if (FULL_SHA.test(ref)) return;
    const refs = await this.rememberedRefs(owner, repo);
    if (refs[ref] === commit) return;
    refs[ref] = commit;
    const file = this.refsFile(owner, repo);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}`;
    await writeFile(tmp, JSON.stringify(refs));
    await rename(tmp, file);
  }

  private serially<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(key) ?? Promise.resolve();
    const next = before.then(work, work);
    const settled = next.catch(() => undefined);
    this.busy.set(key, settled);
    void settled.then(() => {
      if (this.busy.get(key) === settled) this.busy.delete(key);
    });
    return next;
  }
}

async function hasCommit(gitDir: string, sha: string): Promise<boolean> {
  if (!existsSync(join(gitDir, "HEAD"))) return false;
  return git(["-C", gitDir, "cat-file", "-e", `${sha}^{commit}`]).then(
    () => true,
    () => false,
  );
}

/**
 * Commits a plain directory's files as they are into `gitDir` (with a fixed author and date,
 * so the same files give the same commit) and pins it; returns the commit.
 */
async function importDirectory(gitDir: string, dir: string): Promise<string> {
  if (!existsSync(join(gitDir, "HEAD"))) {
    await mkdir(gitDir, { recursive: true });
    await git(["init", "-q", "--bare", gitDir]);
  }
  const index = join(gitDir, `index-${randomUUID()}`);
  const env = {
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: "trunkline",
    GIT_AUTHOR_EMAIL: "trunkline@localhost",
    GIT_AUTHOR_DATE: "1970-01-01T00:00:00Z",
    GIT_COMMITTER_NAME: "trunkline",
    GIT_COMMITTER_EMAIL: "trunkline@localhost",
    GIT_COMMITTER_DATE: "1970-01-01T00:00:00Z",
  };
  try {
    await git(["--git-dir", gitDir, "--work-tree", dir, "add", "-A", "--force", "."], env);
    const tree = await git(["--git-dir", gitDir, "write-tree"], env);
    const commit = await git(["--git-dir", gitDir, "commit-tree", tree, "-m", dir], env);
    await git(["--git-dir", gitDir, "update-ref", `refs/trunkline/${commit}`, commit]);
    return commit;
  } finally {
    await rm(index, { force: true });
  }
}

/** Writes the files of `commit` into `dest` (`git archive`, unpacked by tar). */
function exportTree(gitDir: string, commit: string, dest: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const archive = spawn("git", ["-C", gitDir, "archive", "--format=tar", commit], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tar = spawn("tar", ["-x", "-C", dest], { stdio: ["pipe", "ignore", "pipe"] });
    archive.stdout.pipe(tar.stdin);
    // tar ending early (a full disk) shows as its exit code below, not as an EPIPE thrown here.
    tar.stdin.on("error", () => undefined);
    let stderr = "";
    archive.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    tar.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    const codes: (number | null)[] = [];
    const closed = (code: number | null) => {
      codes.push(code);
      if (codes.length < 2) return;
      if (codes.every((c) => c === 0)) resolvePromise();
      else reject(new Error(stderr.trim() || `git archive | tar failed (${codes.join(", ")})`));
    };
    archive.on("close", closed);
    tar.on("close", closed);
    archive.on("error", reject);
    tar.on("error", reject);
  });
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

/** A refusal for an owner or repository name that is not one (it becomes a path here). */
function badName(owner: string, repo: string): StoreMiss | undefined {
  for (const name of [owner, repo])
    if (!NAME.test(name))
      return { error: `'${name}' is not an owner or repository name`, tried: [] };
  return undefined;
}

/** Runs `work` again (up to 5 times) while another process holds one of git's lock files. */
async function retryOnLock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5 || !/\.lock\b/.test(String((err as { stderr?: string }).stderr ?? "")))
        throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

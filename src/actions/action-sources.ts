import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { git, gitConfigEnv, gitFailure } from "./action-git.js";
import type { ActionStore } from "./action-store.js";

/** Where a source found `owner/repo@ref`. */
export type Located =
  /** A commit, and the git repository (URL or path) to fetch it from. */
  | {
      readonly commit: string;
      readonly from: string;
      /** Environment for git when fetching (credentials as per-process config). */
      readonly env?: Readonly<Record<string, string>>;
      /** The full name of the ref that matched (`refs/tags/v1`); none for a commit SHA. */
      readonly ref?: string;
    }
  /** A plain directory (a mirror that is not a git repository), used as it is. */
  | { readonly dir: string };

/** Why a source did not give an action: it does not have it, or it could not be asked. */
export interface Missed {
  readonly missed: string;
}

/** One place remote actions come from. */
export interface ActionSource {
  /** Where it looks for `owner/repo`, for messages; undefined when it does not serve that owner. */
  place(owner: string, repo: string): string | undefined;
  /** Finds the commit `ref` names. */
  locate(owner: string, repo: string, ref: string): Promise<Located | Missed>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/**
 * Resolves `ref` in the git repository at `place` with one `ls-remote`, as GitHub resolves an
 * action's ref: a tag (peeled to its commit) before a branch; a full commit SHA stands for
 * itself when no ref has that name.
 */
export async function lsRemote(
  place: string,
  ref: string,
  env: Readonly<Record<string, string>> = {},
): Promise<Located | Missed> {
  let out: string;
  try {
    out = await git(
      ["ls-remote", "--", place, `refs/tags/${ref}`, `refs/tags/${ref}^{}`, `refs/heads/${ref}`],
      env,
    );
  } catch (err) {
    return { missed: `${place}: ${gitFailure(err)}` };
  }
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [sha, name] = line.split("\t");
    if (sha && name) refs.set(name, sha);
  }
  const name = [`refs/tags/${ref}`, `refs/heads/${ref}`].find((n) => refs.has(n));
  const commit = name
    ? (refs.get(`${name}^{}`) ?? refs.get(name))
    : FULL_SHA.test(ref)
      ? ref
      : undefined;
  if (!commit) return { missed: `${place}: no tag or branch '${ref}'` };
  return { commit, from: place, env, ...(name ? { ref: name } : {}) };
}

/**
 * A mirror: a directory holding `<owner>/<repo>` (each a git repository, bare or not, or a
 * plain directory), or `owner/repo=<directory or git URL>` for one repository.
 */
export class MirrorSource implements ActionSource {
  constructor(private readonly mirror: string) {}

  place(owner: string, repo: string): string | undefined {
    const eq = this.mirror.indexOf("=");
    if (eq === -1) return join(resolve(this.mirror), owner, repo);
    const name = this.mirror.slice(0, eq).toLowerCase();
    return name === `${owner}/${repo}`.toLowerCase() ? this.mirror.slice(eq + 1) : undefined;
  }

  async locate(owner: string, repo: string, ref: string): Promise<Located | Missed> {
    const place = this.place(owner, repo);
    if (!place) return { missed: `not in the mirror ${this.mirror}` };
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(place);
    if (!isUrl && !existsSync(place)) return { missed: `${place}: not there` };
    if (isUrl || place.endsWith(".git") || isGitRepository(place)) return lsRemote(place, ref);
    return { dir: place };
  }
}

/**
 * A git host serving `<base>/<owner>/<repo>` over smart HTTP: github.com, a GitHub Enterprise
 * server, Gitea. A token is sent as GitHub expects it from git (Basic, `x-access-token`), as
 * per-process git config, never in a command line.
 */
export class GitHostSource implements ActionSource {
  private readonly base: string;
  private readonly env: Readonly<Record<string, string>>;

  constructor(
    base: string,
    token?: string,
    /** Which owners (lower case) it serves: only `only`, or all but `except`. */
    private readonly owners: { only?: ReadonlySet<string>; except?: ReadonlySet<string> } = {},
  ) {
    this.base = base.replace(/\/+$/, "");
    this.env = token
      ? gitConfigEnv({
          [`http.${this.base}/.extraHeader`]: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
        })
      : {};
  }

  place(owner: string, repo: string): string | undefined {
    const name = owner.toLowerCase();
    if (this.owners.only && !this.owners.only.has(name)) return undefined;
    if (this.owners.except?.has(name)) return undefined;
    return `${this.base}/${owner}/${repo}`;
  }

  /** The environment git needs to reach this host (its token, as per-process config). */
  credentials(): Readonly<Record<string, string>> {
    return this.env;
  }

  async locate(owner: string, repo: string, ref: string): Promise<Located | Missed> {
    const place = this.place(owner, repo);
    if (!place) return { missed: `${this.base} does not serve ${owner}` };
    return lsRemote(place, ref, this.env);
  }
}

/**
 * `--actions-url` values: `URL` is where every owner's actions come from, `OWNER=URL` where
 * that owner's do, and only there (never the default: a same-named repository elsewhere is
 * not that owner's); `none` for no default (mirrors only). The default, when no plain URL is
 * given, is `https://github.com`. The token is the default host's: an owner's host on another
 * origin does not get it (a GitHub token must not reach someone's Gitea); with no default
 * host, the owners' hosts the operator named get it.
 */
export function gitHostSources(values: readonly string[], token?: string): GitHostSource[] {
  let base: string | undefined = "https://github.com";
  const owners = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const scheme = value.indexOf("://");
    if (eq !== -1 && (scheme === -1 || eq < scheme))
      owners.set(value.slice(0, eq).toLowerCase(), value.slice(eq + 1));
    else base = value === "none" ? undefined : value;
  }
  const origin = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return url;
    }
  };
  const tokenFor = (url: string) =>
    base === undefined || origin(url) === origin(base) ? token : undefined;
  const sources = [...owners].map(
    ([owner, url]) => new GitHostSource(url, tokenFor(url), { only: new Set([owner]) }),
  );
  if (base) sources.push(new GitHostSource(base, token, { except: new Set(owners.keys()) }));
  return sources;
}

function isGitRepository(dir: string): boolean {
  if (existsSync(join(dir, ".git"))) return true;
  try {
    return statSync(join(dir, "HEAD")).isFile() && existsSync(join(dir, "objects"));
  } catch {
    return false;
  }
}

/**
 * Another store's commits, read straight from its git repositories: the embedded runner's
 * store takes its actions from its server's, which fetched them from the server's sources.
 */
export class StoreSource implements ActionSource {
  constructor(private readonly store: ActionStore) {}

  place(owner: string, repo: string): string {
    return this.store.places(owner, repo).join(", ") || `the server's store (${this.store.dir})`;
  }

  async locate(owner: string, repo: string, ref: string): Promise<Located | Missed> {
    const found = await this.store.commit(owner, repo, ref);
    if ("error" in found) return { missed: found.error };
    return { commit: found.commit, from: found.gitDir };
  }
}

/**
 * The sources of `--action-mirror` and `--actions-url` values, mirrors first (they win), then
 * the git hosts (per-owner ones before the default).
 */
export function configuredSources(
  mirrors: readonly string[],
  urls: readonly string[],
  token?: string,
): ActionSource[] {
  return [...mirrors.map((m) => new MirrorSource(m)), ...gitHostSources(urls, token)];
}

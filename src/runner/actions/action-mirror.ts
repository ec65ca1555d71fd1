import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A remote action found in a mirror, at a resolved commit when the mirror is a git repository. */
export interface MirroredAction {
  /** The action's repository root on disk. */
  readonly root: string;
  /** The commit the ref resolved to, or undefined for a plain directory. */
  readonly commit?: string;
}

/**
 * Finds `owner/repo@ref` without the internet, in the configured mirrors: a directory that
 * holds `<owner>/<repo>`, or an explicit `owner/repo=<directory or git URL>`. A git mirror's
 * ref is resolved to a commit, and the commit's files are exported once into `cacheDir`
 * (so every use of the same commit shares one copy); a plain directory is used as it is.
 */
export class ActionMirror {
  constructor(
    private readonly mirrors: readonly string[],
    private readonly cacheDir: string,
  ) {}

  /** The places searched for `owner/repo`, for messages. */
  candidates(owner: string, repo: string): string[] {
    const out: string[] = [];
    for (const mirror of this.mirrors) {
      const eq = mirror.indexOf("=");
      if (eq !== -1) {
        if (mirror.slice(0, eq).toLowerCase() === `${owner}/${repo}`.toLowerCase())
          out.push(mirror.slice(eq + 1));
      } else {
        out.push(join(resolve(mirror), owner, repo));
      }
    }
    return out;
  }

  /** Resolves the action, or explains why it cannot. */
  async resolve(
    owner: string,
    repo: string,
    ref: string,
  ): Promise<MirroredAction | { error: string }> {
    const places = this.candidates(owner, repo);
    for (const place of places) {
      const isUrl = /^[a-z]+:\/\//.test(place) || place.endsWith(".git");
      if (!isUrl && !existsSync(place)) continue;
      if (isUrl || existsSync(join(place, ".git")) || isBareRepo(place)) {
        const commit = await git([
          "ls-remote",
          "--",
          place,
          ref,
          `refs/tags/${ref}`,
          `refs/heads/${ref}`,
        ]).then(
          (out) => out.split("\n")[0]?.split("\t")[0],
          () => undefined,
        );
        const sha = commit || (/^[0-9a-f]{40}$/.test(ref) ? ref : undefined);
        if (!sha) return { error: `ref '${ref}' not found in the mirror ${place}` };
        const dest = join(this.cacheDir, owner, repo, sha);
        if (!existsSync(dest)) {
          const tmp = `${dest}.tmp-${randomUUID()}`;
          await mkdir(tmp, { recursive: true });
          try {
            await git(["-C", tmp, "init", "-q"]);
            await git(["-C", tmp, "fetch", "-q", "--depth", "1", "--", place, sha]);
            await git(["-C", tmp, "checkout", "-q", "--detach", "FETCH_HEAD"]);
            await rm(join(tmp, ".git"), { recursive: true, force: true });
            await rename(tmp, dest);
          } catch (err) {
            await rm(tmp, { recursive: true, force: true });
            return {
              error: `cannot fetch ${owner}/${repo}@${ref} from ${place}: ${(err as Error).message.split("\n")[0]}`,
            };
          }
        }
        return { root: dest, commit: sha };
      }
      return { root: place };
    }
    return {
      error:
        places.length === 0
          ? `no action mirror is configured for ${owner}/${repo}; Trunkline runs without the internet: give one with --action-mirror <dir> (holding ${owner}/${repo}) or --action-mirror ${owner}/${repo}=<path or git URL>`
          : `${owner}/${repo} is not in the action mirrors (looked in ${places.join(", ")})`,
    };
  }
}

function isBareRepo(dir: string): boolean {
  try {
    return statSync(join(dir, "HEAD")).isFile() && existsSync(join(dir, "objects"));
  } catch {
    return false;
  }
}

async function git(args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

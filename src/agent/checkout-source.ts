import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Git run by the runner on repositories of its own: no prompt, no user or system config. */
const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

/**
 * The repositories `actions/checkout` of sandboxed jobs fetches from: the job's user cannot
 * read the runner's own (the server's bare repositories are in its private data directory,
 * an agent's fetched sources in its private cache), so each slot has a copy of the
 * repository it builds, the runner's (jobs can read it, never change it), brought up to date
 * by the runner before each job that checks out. A slot's copy holds one repository at a time.
 */
export class CheckoutSources {
  /** Each slot's copy: where it is and which repository it holds. */
  private readonly copies = new Map<
    string,
    { readonly dir: string; readonly repository: string }
  >();

  /**
   * `dir` must let the jobs' user through but not list it (0711): a copy's name is random, so
   * a job knows its own copy and no other (jobs of other repositories run on other slots).
   */
  constructor(private readonly dir: string) {}

  /** The copy for `slot`, with every ref of `repository` (and commit `sha`) in it. */
  async forSlot(slot: string, repository: string, sha: string): Promise<string> {
    let copy = this.copies.get(slot);
    if (copy?.repository !== repository) {
      await this.drop(slot);
      copy = { dir: join(this.dir, `${randomUUID()}.git`), repository };
      await mkdir(copy.dir, { recursive: true, mode: 0o755 });
      await exec("git", ["init", "-q", "--bare", copy.dir], { env: GIT_ENV });
      this.copies.set(slot, copy);
    }
    const at = copy.dir;
    const git = (...args: string[]) => exec("git", ["-C", at, ...args], { env: GIT_ENV });
    try {
      await git("fetch", "-q", "--prune", "--end-of-options", repository, "+refs/*:refs/*");
      // A commit no ref names (an old one dispatched by sha) is fetched by itself.
      const has = await git("cat-file", "-e", `${sha}^{commit}`).then(
        () => true,
        () => false,
      );
      if (!has) await git("fetch", "-q", "--end-of-options", repository, sha);
    } catch (err) {
      // Started afresh next time.
      await this.drop(slot);
      throw err;
    }
    return at;
  }

  /** Removes a slot's copy (the agent stops, or the slot builds another repository). */
  async drop(slot: string): Promise<void> {
    const copy = this.copies.get(slot);
    this.copies.delete(slot);
    if (copy) await rm(copy.dir, { recursive: true, force: true });
  }
}

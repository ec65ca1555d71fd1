import { execFile } from "node:child_process";
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
  /** The repository each slot's copy holds. */
  private readonly holds = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** The copy for `slot`, with every ref of `repository` (and commit `sha`) in it. */
  async forSlot(slot: string, repository: string, sha: string): Promise<string> {
    const copy = join(this.dir, `${slot}.git`);
    if (this.holds.get(slot) !== repository) {
      await rm(copy, { recursive: true, force: true });
      await mkdir(copy, { recursive: true, mode: 0o755 });
      await exec("git", ["init", "-q", "--bare", copy], { env: GIT_ENV });
      this.holds.set(slot, repository);
    }
    const git = (...args: string[]) => exec("git", ["-C", copy, ...args], { env: GIT_ENV });
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
      this.holds.delete(slot);
      throw err;
    }
    return copy;
  }

  /** Forgets a slot's copy (its directory moved or the agent stops). */
  async drop(slot: string): Promise<void> {
    this.holds.delete(slot);
    await rm(join(this.dir, `${slot}.git`), { recursive: true, force: true });
  }
}

import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { checkoutInto, copyTree } from "../runner/commit-files.js";

/** How many unpacked commits an agent keeps. */
const KEEP = 8;

/**
 * The files of commits an agent builds, unpacked once per commit under `dir` (`git archive`
 * costs a process; jobs of the same commit are the common case: a push runs many jobs),
 * each job's workspace then a copy of them. The newest {@link KEEP} commits are kept; an
 * unpacked tree is never changed, only copied.
 */
export class CommitTrees {
  /** Unpacked (or being unpacked) trees by key, oldest first. */
  private readonly trees = new Map<string, Promise<string>>();
  /** Copies going on from each tree, so none is removed under a copy. */
  private readonly copying = new Map<string, number>();

  constructor(private readonly dir: string) {}

  /** Fills `dest` with the files of commit `sha` of the repository at `repo`. */
  async fill(repo: string, sha: string, dest: string): Promise<void> {
    const key = createHash("sha256").update(`${repo}\0${sha}`).digest("hex").slice(0, 24);
    let tree = this.trees.get(key);
    if (!tree) {
      tree = this.unpack(repo, sha, key);
      this.trees.set(key, tree);
      tree.catch(() => this.trees.delete(key));
    }
    const path = await tree;
    this.copying.set(key, (this.copying.get(key) ?? 0) + 1);
    try {
      copyTree(path, dest);
    } finally {
      this.copying.set(key, (this.copying.get(key) ?? 1) - 1);
    }
    await this.evict();
  }

  /** Unpacks into a new directory, then renames it into place, so no half tree is used. */
  private async unpack(repo: string, sha: string, key: string): Promise<string> {
    const path = join(this.dir, key);
    const partial = join(this.dir, `.${key}-${randomUUID()}`);
    await mkdir(this.dir, { recursive: true });
    await rm(path, { recursive: true, force: true });
    if (!(await checkoutInto(repo, sha, partial))) {
      await rm(partial, { recursive: true, force: true });
      throw new Error(`cannot read commit ${sha} of ${repo}`);
    }
    await rename(partial, path);
    return path;
  }

  private async evict(): Promise<void> {
    for (const [key, tree] of this.trees) {
      if (this.trees.size <= KEEP) return;
      if ((this.copying.get(key) ?? 0) > 0) continue;
      this.trees.delete(key);
      this.copying.delete(key);
      await rm(await tree, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

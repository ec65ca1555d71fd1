import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import semver from "semver";
import type { NodeSource } from "./node-sources.js";
import type { NodeRelease } from "./node-version-spec.js";

/**
 * Node.js runtimes for actions, kept in a tool cache in GitHub's layout
 * (`<toolCache>/node/<version>/<arch>`, complete once `<arch>.complete` exists), so
 * `setup-node` and the actions' runtimes share one copy. A major version is served by this
 * process's own Node when it is that major, else by the newest copy of it in the cache, else
 * by the newest release of it the sources have, installed once (one install at a time per
 * major; a half-made copy is never used).
 */
export class NodeRuntimes {
  private readonly installing = new Map<string, Promise<string>>();

  constructor(
    /** The tool cache (`RUNNER_TOOL_CACHE`). */
    readonly toolCache: string,
    private readonly sources: readonly NodeSource[],
    /** The tool cache's architecture folder: GitHub's names are Node's (`x64`, `arm64`). */
    private readonly arch: string = process.arch,
    /** This process's Node: `process.version` and `process.execPath`. */
    private readonly own = { version: process.version, path: process.execPath },
  ) {}

  /**
   * The `node` binary of `major`; `say` hears of an install (which can take a while).
   * Rejects, naming every source tried, when none has that major.
   */
  async binary(major: number, say: (line: string) => void = () => undefined): Promise<string> {
    if (semver.major(this.own.version) === major) return this.own.path;
    const cached = (await this.cachedVersions()).find((v) => semver.major(v) === major);
    if (cached) return this.binaryOf(cached);
    const installed = await this.installNewest((r) => semver.major(r.version) === major, say);
    if (typeof installed !== "string")
      throw new Error(`no Node ${major} runtime: ${installed.error}`);
    return installed;
  }

  /**
   * Installs the newest release `pick` accepts, from the first source that has one and whose
   * download checks out (a source that fails, or whose digest is wrong, passes to the next);
   * resolves to its `node`, or why not, naming each source.
   */
  async installNewest(
    pick: (release: NodeRelease) => boolean,
    say: (line: string) => void = () => undefined,
  ): Promise<string | { error: string }> {
    const failures: string[] = [];
    for (const source of this.sources) {
      let release: NodeRelease | undefined;
      try {
        release = (await source.releases()).find(pick);
      } catch (err) {
        failures.push(`${source.name}: ${(err as Error).message}`);
        continue;
      }
      if (!release) {
        failures.push(`${source.name}: no such release`);
        continue;
      }
      try {
        return await this.install(release.version, source, say);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    return {
      error: failures.length ? failures.join("; ") : "no Node source is configured (--node-source)",
    };
  }

  /** The versions complete in the cache, newest first. */
  async cachedVersions(): Promise<string[]> {
    const dir = join(this.toolCache, "node");
    const versions = await readdir(dir).catch(() => [] as string[]);
    return versions
      .filter((v) => semver.valid(v) !== null && existsSync(join(dir, v, `${this.arch}.complete`)))
      .sort(semver.rcompare);
  }

  /** Where `version`'s `node` is (or will be) in the cache. */
  binaryOf(version: string): string {
    return join(this.toolCache, "node", version, this.arch, "bin", "node");
  }

  /** The releases of the first source that answers, newest first; why not, naming each source. */
  async releases(): Promise<{ releases: NodeRelease[]; source: string } | { error: string }> {
    const failures: string[] = [];
    for (const source of this.sources) {
      try {
        return { releases: await source.releases(), source: source.name };
      } catch (err) {
        failures.push(`${source.name}: ${(err as Error).message}`);
      }
    }
    return {
      error: failures.length ? failures.join("; ") : "no Node source is configured (--node-source)",
    };
  }

  /**
   * The first release `pick` chooses from a source's releases (newest first), asking the
   * sources in order; why not, naming each source, when none gives one.
   */
  async find(
    pick: (release: NodeRelease) => boolean,
  ): Promise<{ release: NodeRelease; source: NodeSource } | { error: string }> {
    const failures: string[] = [];
    for (const source of this.sources) {
      try {
        const release = (await source.releases()).find(pick);
        if (release) return { release, source };
        failures.push(`${source.name}: no such release`);
      } catch (err) {
        failures.push(`${source.name}: ${(err as Error).message}`);
      }
    }
    return {
      error: failures.length ? failures.join("; ") : "no Node source is configured (--node-source)",
    };
  }

  /**
   * Installs `version` from `source` into the cache, unless it is there (one install of a
   * version at a time; a half-made copy is never used); resolves to its `node`.
   */
  install(version: string, source: NodeSource, say: (line: string) => void): Promise<string> {
    let install = this.installing.get(version);
    if (!install) {
      install = this.installOnce(version, source, say).finally(() =>
        this.installing.delete(version),
      );
      this.installing.set(version, install);
    }
    return install;
  }

  private async installOnce(
    version: string,
    source: NodeSource,
    say: (line: string) => void,
  ): Promise<string> {
    const home = join(this.toolCache, "node", version);
    if (existsSync(join(home, `${this.arch}.complete`))) return this.binaryOf(version);
    const dest = join(home, this.arch);
    const tmp = join(home, `${this.arch}.tmp-${randomUUID()}`);
    say(`Installing Node ${version} from ${source.name} into ${dest}`);
    try {
      await mkdir(tmp, { recursive: true });
      await source.install(version, tmp);
      // Another process sharing the cache may have finished the same install meanwhile: its
      // complete copy stands (it may be in use), this one is dropped.
      if (existsSync(join(home, `${this.arch}.complete`))) {
        await rm(tmp, { recursive: true, force: true });
        return this.binaryOf(version);
      }
      await rm(dest, { recursive: true, force: true });
      try {
        await rename(tmp, dest);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (
          (code !== "ENOTEMPTY" && code !== "EEXIST") ||
          !existsSync(join(home, `${this.arch}.complete`))
        )
          throw err;
        await rm(tmp, { recursive: true, force: true });
        return this.binaryOf(version);
      }
      await writeFile(join(home, `${this.arch}.complete`), "");
      return this.binaryOf(version);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw new Error(`Node ${version} from ${source.name}: ${(err as Error).message}`);
    }
  }
}

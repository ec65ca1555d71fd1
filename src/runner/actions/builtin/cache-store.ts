import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One archive of a cache entry: the files under one search path of the cache's patterns. */
export interface CacheRoot {
  /** Index into the search paths of the patterns (see `searchPaths`). */
  readonly index: number;
  /** File name of its archive in the entry's directory. */
  readonly archive: string;
  /** Set when the search path was itself a file or link: the archive holds just this name. */
  readonly single?: string;
}

/** A saved cache entry, as its `entry.json` holds it. */
export interface CacheEntry {
  readonly key: string;
  readonly version: string;
  /** Wall-clock time of the save in ms (fractional), to pick the most recent entry. */
  readonly createdAt: number;
  readonly roots: readonly CacheRoot[];
}

/** A cache entry and the directory holding it. */
export interface StoredCacheEntry extends CacheEntry {
  readonly dir: string;
}

/**
 * The version of a cache, as GitHub scopes caches: the SHA-256 of its `path` lines as
 * written (so `~/.npm` is the same cache for every HOME). Entries of another version are
 * invisible, even under the same key.
 */
export function cacheVersion(paths: readonly string[]): string {
  return createHash("sha256").update(paths.join("|")).update("|gzip").digest("hex");
}

/**
 * Why an entry's root may not be used, or undefined: its archive must be one of the entry's
 * own files (`<index>.tgz`), its index a path's, and a single file's name a plain name; an
 * entry from elsewhere (a server's) could otherwise point the runner at any archive on its
 * machine. Pure.
 */
export function rootProblem(root: CacheRoot): string | undefined {
  if (!Number.isInteger(root.index) || root.index < 0) return `bad index ${String(root.index)}`;
  if (typeof root.archive !== "string" || !/^\d+\.tgz$/.test(root.archive))
    return `bad archive name '${String(root.archive)}'`;
  if (
    root.single !== undefined &&
    (typeof root.single !== "string" ||
      /[/\\\0]/.test(root.single) ||
      [".", "..", ""].includes(root.single))
  )
    return `bad file name '${String(root.single)}'`;
  return undefined;
}

/**
 * Where the built-in cache actions keep a repository's entries: a {@link CacheStore} on this
 * machine, or a server's cache service (shared by its runners).
 */
export interface CacheBackend {
  /** The entry to restore by GitHub's rule, its archives in a local `dir`; see {@link CacheStore.match}. */
  match(
    key: string,
    restoreKeys: readonly string[],
    version: string,
  ): Promise<{ entry: StoredCacheEntry; exact: boolean } | undefined>;
  /** Whether an entry with this key and version exists. */
  exists(key: string, version: string): Promise<boolean>;
  /** Saves an entry; see {@link CacheStore.save}. */
  save(
    key: string,
    version: string,
    build: (dir: string) => Promise<CacheRoot[]>,
  ): Promise<"saved" | "exists">;
}

/**
 * A repository's cache: one directory per entry, named by the SHA-256 of its version and
 * key (so any key is a safe name), holding `entry.json` and the entry's archives. Entries are
 * immutable: a save moves a finished temporary directory into place, and a key already
 * saved stays as it is.
 */
export class CacheStore implements CacheBackend {
  constructor(readonly dir: string) {}

  /** The directory of the entry with this key and version, whether it exists or not. */
  entryDir(key: string, version: string): string {
    return join(this.dir, createHash("sha256").update(`${version}\n${key}`).digest("hex"));
  }

  /**
   * The entry to restore, with GitHub's rule: the exact key; else the most recent entry whose
   * key starts with the key; else, for each restore key in order, the most recent entry whose
   * key starts with it. `exact` tells whether the key itself matched.
   */
  async match(
    key: string,
    restoreKeys: readonly string[],
    version: string,
  ): Promise<{ entry: StoredCacheEntry; exact: boolean } | undefined> {
    const exact = await this.read(this.entryDir(key, version));
    if (exact && exact.key === key && exact.version === version)
      return { entry: exact, exact: true };
    const entries = (await this.entries()).filter((e) => e.version === version);
    for (const prefix of [key, ...restoreKeys]) {
      const newest = entries
        .filter((e) => e.key.startsWith(prefix))
        .sort((a, b) => b.createdAt - a.createdAt)[0];
      if (newest) return { entry: newest, exact: false };
    }
    return undefined;
  }

  /** Whether an entry with this key and version exists. */
  has(key: string, version: string): boolean {
    return existsSync(join(this.entryDir(key, version), "entry.json"));
  }

  async exists(key: string, version: string): Promise<boolean> {
    return this.has(key, version);
  }

  /**
   * Saves an entry: `build` writes its archives into a fresh directory and lists them.
   * Resolves to `exists`, without calling `build` when it can tell early, if the key is taken.
   */
  async save(
    key: string,
    version: string,
    build: (dir: string) => Promise<CacheRoot[]>,
  ): Promise<"saved" | "exists"> {
    const final = this.entryDir(key, version);
    if (existsSync(final)) return "exists";
    await mkdir(this.dir, { recursive: true });
    const temporary = await mkdtemp(join(this.dir, ".saving-"));
    try {
      const roots = await build(temporary);
      const entry: CacheEntry = {
        key,
        version,
        createdAt: performance.timeOrigin + performance.now(),
        roots,
      };
      await writeFile(join(temporary, "entry.json"), `${JSON.stringify(entry, null, 2)}\n`);
      try {
        await rename(temporary, final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") return "exists";
        throw err;
      }
      return "saved";
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
  }

  private async entries(): Promise<StoredCacheEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: StoredCacheEntry[] = [];
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const entry = await this.read(join(this.dir, name));
      if (entry) entries.push(entry);
    }
    return entries;
  }

  private async read(dir: string): Promise<StoredCacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(join(dir, "entry.json"), "utf8")) as CacheEntry;
      if (typeof entry.key !== "string" || !Array.isArray(entry.roots)) return undefined;
      return { ...entry, dir };
    } catch {
      return undefined;
    }
  }
}

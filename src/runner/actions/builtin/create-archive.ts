import { createWriteStream, lstatSync } from "node:fs";
import { join } from "node:path";

/** How {@link createArchive} packs. */
export interface CreateArchiveOptions {
  /** Store what links point to (artifacts), or the links themselves (caches, like tar). */
  readonly followSymlinks: boolean;
  /** gzip level 0-9 (0 stores without compressing). */
  readonly gzipLevel: number;
  /**
   * Called for a file that vanished between listing and packing (a tool's log rotated away
   * under `~/.npm`, say); it is left out. Without it such a file fails the archive.
   */
  readonly onVanished?: (path: string) => void;
}

/**
 * A link cache that never remembers: node-tar would store the second name of a file with
 * several hard links as a hard-link entry, which extraction refuses; every file is stored
 * whole instead.
 */
class NoHardLinks extends Map<`${number}:${number}`, string> {
  override get(): undefined {
    return undefined;
  }
  override set(): this {
    return this;
  }
}

function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a gzip-compressed tar archive `file` holding `paths` (files or links, relative to
 * `cwd`, never directories), each under its relative path, with its mode and mtime but no
 * owner. Names are added as given: node-tar's `@archive` shortcut is not involved.
 */
export async function createArchive(
  file: string,
  cwd: string,
  paths: readonly string[],
  options: CreateArchiveOptions,
): Promise<void> {
  // The tar library is loaded by the steps that use it, not by every run.
  const { Pack } = await import("tar");
  return new Promise((resolve, reject) => {
    const pack = new Pack({
      cwd,
      portable: true,
      follow: options.followSymlinks,
      noDirRecurse: true,
      strict: true,
      gzip: { level: options.gzipLevel },
      linkCache: new NoHardLinks(),
    });
    const out = createWriteStream(file, { mode: 0o600 });
    pack.on("error", reject);
    out.on("error", reject);
    out.on("close", () => resolve());
    pack.pipe(out);
    for (const path of paths) {
      // Checked just before packing; a file removed in the instant between still fails.
      if (options.onVanished && !existsNoFollow(join(cwd, path))) options.onVanished(path);
      else pack.add(path);
    }
    pack.end();
  });
}

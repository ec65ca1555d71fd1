import type { Dirent } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { InputError } from "../../../common/errors.js";
import { type GlobPattern, matchesPath, mayMatchBelow, pathSegments } from "./glob-pattern.js";

/** How {@link findFiles} searches. */
export interface FindFilesOptions {
  /** Follow symbolic links (upload-artifact), or report them as links (cache, like tar). */
  readonly followSymlinks: boolean;
  /** Include names starting with `.`; when false such files and directories are skipped. */
  readonly includeHidden: boolean;
  /**
   * Everything found, and every symbolic link followed, must resolve inside this directory;
   * `label` names it in the refusal ("the workspace").
   */
  readonly boundary?: { readonly path: string; readonly label: string };
  readonly signal?: AbortSignal;
}

/** A file found: its path as reached (not resolved), and whether it is a link kept as such. */
export interface FoundFile {
  readonly path: string;
  readonly symlink: boolean;
}

/** What a search found. */
export interface FoundFiles {
  /** Files (never directories), sorted by path, without repeats. */
  readonly files: FoundFile[];
  /** Where the search started: see {@link searchPaths}. */
  readonly searchPaths: string[];
  /** Things skipped that the user may want to know about (broken links, link cycles). */
  readonly notes: string[];
}

/**
 * The search paths of the including patterns as `@actions/glob` reports them: in pattern
 * order, without repeats, and without any that lies below another.
 */
export function searchPaths(patterns: readonly GlobPattern[]): string[] {
  const candidates = new Set(patterns.filter((p) => !p.negate).map((p) => p.searchPath));
  const result: string[] = [];
  for (const path of candidates) {
    if (result.includes(path)) continue;
    const hasAncestor = [...candidates].some((other) => other !== path && isWithin(other, path));
    if (!hasAncestor) result.push(path);
  }
  return result;
}

/**
 * The files the patterns select, with `@actions/glob`'s rules: patterns apply in order (an
 * including one adds what it matches, a `!` one removes it), and a matched directory stands
 * for everything below it. Throws an {@link InputError} when a selected file or a followed
 * link resolves outside the boundary.
 */
export async function findFiles(
  patterns: readonly GlobPattern[],
  options: FindFilesOptions,
): Promise<FoundFiles> {
  const walker = new Walker(patterns, options);
  const roots = searchPaths(patterns);
  const boundary = options.boundary ? await realpath(options.boundary.path) : undefined;
  for (const root of roots) {
    const info = await lstat(root).catch(() => undefined);
    if (!info) continue;
    const real = await realpath(root).catch(() => undefined);
    if (real === undefined) {
      walker.notes.push(`skipped '${root}': a symbolic link whose target does not exist`);
      continue;
    }
    if (boundary !== undefined && !isWithin(boundary, real)) {
      throw new InputError(
        `'${root}' resolves to '${real}', outside ${options.boundary?.label}: refusing to read it`,
      );
    }
    const type = info.isSymbolicLink() ? "link" : info.isDirectory() ? "dir" : "file";
    await walker.visit(root, pathSegments(root), new Array(patterns.length).fill(false), type, []);
  }
  const unique = new Map(walker.files.map((f) => [f.path, f]));
  const files = [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { files, searchPaths: roots, notes: walker.notes };
}

/** Whether `path` is `dir` or lies below it; both absolute and normalised. */
export function isWithin(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

type EntryType = "dir" | "file" | "link" | "other";

class Walker {
  readonly files: FoundFile[] = [];
  readonly notes: string[] = [];
  private boundary: string | undefined;

  constructor(
    private readonly patterns: readonly GlobPattern[],
    private readonly options: FindFilesOptions,
  ) {}

  async visit(
    path: string,
    segments: string[],
    ancestors: boolean[],
    type: EntryType,
    chain: string[],
  ): Promise<void> {
    if (this.options.signal?.aborted) throw new Error("cancelled");
    if (type === "other") return;
    if (!this.options.includeHidden && basename(path).startsWith(".")) return;
    let isDirectory = type === "dir";
    let real: string | undefined;
    if (type === "link") {
      if (!this.options.followSymlinks) {
        isDirectory = false;
      } else {
        const target = await stat(path).catch(() => undefined);
        if (!target) {
          this.notes.push(`skipped '${path}': a symbolic link whose target does not exist`);
          return;
        }
        if (!target.isDirectory() && !target.isFile()) return;
        isDirectory = target.isDirectory();
        real = await realpath(path);
      }
    }
    const direct = this.patterns.map((p) => matchesPath(p, segments, isDirectory));
    if (!isDirectory) {
      if (!this.selected(ancestors, direct)) return;
      if (real !== undefined) await this.checkLink(path, real);
      this.files.push({ path, symlink: type === "link" && !this.options.followSymlinks });
      return;
    }
    const below = ancestors.map((a, i) => a || (direct[i] as boolean));
    if (this.nothingBelow(below, segments)) return;
    if (real !== undefined) {
      await this.checkLink(path, real);
      if (chain.includes(real)) {
        this.notes.push(`skipped '${path}': a symbolic link cycle`);
        return;
      }
    }
    const parentReal = chain[chain.length - 1];
    const self =
      real ?? (parentReal === undefined ? await realpath(path) : join(parentReal, basename(path)));
    const entries = await readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      await this.visit(join(path, entry.name), [...segments, entry.name], below, entryType(entry), [
        ...chain,
        self,
      ]);
    }
  }

  /** The verdict of the patterns, in order, for an entry. */
  private selected(ancestors: readonly boolean[], direct: readonly boolean[]): boolean {
    let result = false;
    this.patterns.forEach((p, i) => {
      if (ancestors[i] || direct[i]) result = !p.negate;
    });
    return result;
  }

  /** True when no entry below a directory can be selected, so it need not be read. */
  private nothingBelow(below: readonly boolean[], segments: readonly string[]): boolean {
    const last = below.lastIndexOf(true);
    // Every entry below is matched by `last`, so it decides unless a later pattern matches.
    if (last !== -1 && !this.patterns[last]?.negate) return false;
    return !this.patterns.some((p, i) => i > last && !p.negate && mayMatchBelow(p, segments));
  }

  private async checkLink(path: string, real: string): Promise<void> {
    const boundary = this.options.boundary;
    if (!boundary) return;
    this.boundary ??= await realpath(boundary.path);
    if (!isWithin(this.boundary, real)) {
      throw new InputError(
        `'${path}' is a symbolic link to '${real}', outside ${boundary.label}: refusing to follow it`,
      );
    }
  }
}

function entryType(entry: Dirent): EntryType {
  if (entry.isSymbolicLink()) return "link";
  if (entry.isDirectory()) return "dir";
  if (entry.isFile()) return "file";
  return "other";
}

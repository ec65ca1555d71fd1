import { createReadStream } from "node:fs";
import { lstat, mkdir, open, readlink, realpath, stat, symlink, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ReadEntry } from "tar";
import { InputError } from "../../../common/errors.js";
import { isWithin } from "./find-files.js";

/** How {@link extractArchive} extracts. */
export interface ExtractOptions {
  /** Names the archive in messages: "artifact 'dist'". */
  readonly label: string;
  /** When set, the archive may hold only this one name (a single file saved on its own). */
  readonly only?: string;
  readonly signal?: AbortSignal;
}

/**
 * Raised when an archive holds an entry that must not be extracted; the message names the
 * entry and the reason. User-facing: the archive, not Trunkline, is at fault.
 */
export class UnsafeArchiveError extends InputError {}

/**
 * Extracts a tar archive (gzip or not) into `destination`, created if missing, refusing
 * anything that could write or point outside it. Every entry is checked before anything is
 * written: an absolute path, a `..` segment, a hard link, a device or other special entry, or
 * a symbolic link whose target is absolute or climbs out of the destination is refused. While
 * writing, nothing is written through a symbolic link that resolves outside the destination
 * (whether the archive or someone else made it), an existing file or link in the way is
 * replaced rather than written through, and once done every link the archive made must still
 * resolve inside. Files get mode 0644, or 0755 when executable by anyone, as git keeps them.
 * Returns the number of entries written. Throws {@link UnsafeArchiveError} on a refusal.
 */
export async function extractArchive(
  archive: string,
  destination: string,
  options: ExtractOptions,
): Promise<number> {
  for (const entry of await listEntries(archive, options.label)) {
    const reason = entryProblem(entry, options.only);
    if (reason) throw refusal(entry.path, reason, options.label);
  }
  await mkdir(destination, { recursive: true });
  const root = await realpath(destination);
  const writer = new EntryWriter(root, options);
  const count = await writer.extract(archive);
  await writer.verifyLinks();
  return count;
}

/** What the checks need of an entry. */
interface EntryHeader {
  readonly path: string;
  readonly type: string;
  readonly linkpath: string;
}

/** An entry of any archive format, as {@link EntryWriter} writes it: tar's names for types. */
export interface ArchiveEntry extends AsyncIterable<Uint8Array> {
  readonly path: string;
  /** `File`, `Directory`, `SymbolicLink`, ... (tar's names). */
  readonly type: string;
  readonly linkpath?: string | undefined;
  readonly mode?: number | undefined;
  readonly mtime?: Date | undefined;
}

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/** Why an entry must not be extracted, or undefined when it may be. Pure. */
export function entryProblem(entry: EntryHeader, only?: string): string | undefined {
  const segments = entrySegments(entry.path);
  if (typeof segments === "string") return segments;
  if (segments.length === 0) {
    return entry.type === "Directory" ? undefined : "its path is empty";
  }
  if (only !== undefined && (segments.length !== 1 || segments[0] !== only)) {
    return `this archive may only hold '${only}'`;
  }
  if (entry.type === "Link") return `it is a hard link (to '${entry.linkpath}')`;
  if (entry.type === "SymbolicLink") return linkProblem(segments, entry.linkpath);
  if (entry.type === "Directory" || FILE_TYPES.has(entry.type)) return undefined;
  return `it is a ${entry.type} entry, which is never extracted`;
}

/** The segments of an entry's path, or why it cannot be used. */
function entrySegments(path: string): string[] | string {
  if (path.includes("\0")) return "its path contains a NUL character";
  // Backslashes count as separators here so a Windows-made `..\x` is caught too.
  if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    return "its path is absolute";
  }
  const segments = path.split(/[/\\]/).filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return "its path contains '..'";
  return segments;
}

function linkProblem(segments: readonly string[], target: string): string | undefined {
  if (target === "") return "it is a symbolic link without a target";
  if (target.startsWith("/") || target.startsWith("\\") || /^[A-Za-z]:/.test(target)) {
    return `it is a symbolic link to an absolute path ('${target}')`;
  }
  const stack = segments.slice(0, -1);
  for (const part of target.split(/[/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part !== "..") stack.push(part);
    else if (stack.pop() === undefined) {
      return `it is a symbolic link pointing outside the destination ('${target}')`;
    }
  }
  return undefined;
}

function outsideReason(resolved: string | undefined): string {
  return resolved === undefined
    ? "it is a symbolic link in a loop of links"
    : `it is a symbolic link that resolves outside the destination ('${resolved}')`;
}

function refusal(entry: string, reason: string, label: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`refusing to extract '${entry}' from ${label}: ${reason}`);
}

async function listEntries(archive: string, label: string): Promise<EntryHeader[]> {
  const entries: EntryHeader[] = [];
  // The tar library is loaded by the steps that use it, not by every run.
  const { list } = await import("tar");
  try {
    await list({
      file: archive,
      strict: true,
      onReadEntry: (e) => {
        entries.push({ path: e.path, type: e.type, linkpath: e.linkpath ?? "" });
      },
    });
  } catch (err) {
    throw new InputError(`${label} is not a readable archive: ${(err as Error).message}`);
  }
  return entries;
}

/**
 * Writes the entries of one archive under one (real) root directory, with
 * {@link extractArchive}'s refusals; {@link EntryWriter.verifyLinks} once all are written.
 */
export class EntryWriter {
  private readonly links: { readonly path: string; readonly entry: string }[] = [];

  constructor(
    private readonly root: string,
    private readonly options: ExtractOptions,
  ) {}

  /** Streams the archive, writing entries one at a time; resolves to their number. */
  async extract(archive: string): Promise<number> {
    const { Parser } = await import("tar");
    return new Promise((resolve, reject) => {
      const source = createReadStream(archive);
      const parser = new Parser({ strict: true });
      let chain = Promise.resolve();
      let failed = false;
      let count = 0;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        source.destroy();
        reject(err);
      };
      parser.on("entry", (entry: ReadEntry) => {
        chain = chain
          .then(async () => {
            if (failed) return;
            if (this.options.signal?.aborted) throw new Error("cancelled");
            await this.write(entry);
            count++;
          })
          .catch(fail)
          .finally(() => entry.resume());
      });
      parser.on("error", fail);
      source.on("error", fail);
      parser.on("end", () => {
        chain.then(() => {
          if (!failed) resolve(count);
        }, fail);
      });
      source.pipe(parser);
    });
  }

  /**
   * Removes every link the archive made that now resolves outside the root (a later entry
   * redirected a part of its target), then fails naming the first.
   */
  async verifyLinks(): Promise<void> {
    let first: UnsafeArchiveError | undefined;
    for (const link of this.links) {
      const target = await resolvePhysically(link.path);
      if (target !== undefined && isWithin(this.root, target)) continue;
      await unlink(link.path).catch(() => undefined);
      first ??= refusal(link.entry, outsideReason(target), this.options.label);
    }
    if (first) throw first;
  }

  /** Writes one entry, refusing it ({@link UnsafeArchiveError}) when it is unsafe. */
  async write(entry: ArchiveEntry): Promise<void> {
    const header = { path: entry.path, type: entry.type, linkpath: entry.linkpath ?? "" };
    const reason = entryProblem(header, this.options.only);
    if (reason) throw refusal(entry.path, reason, this.options.label);
    const segments = entrySegments(entry.path) as string[];
    const name = segments[segments.length - 1];
    if (name === undefined) return;
    if (entry.type === "Directory") {
      await this.directory(segments, entry.path);
      return;
    }
    const parent = await this.directory(segments.slice(0, -1), entry.path);
    const target = join(parent, name);
    await this.clear(target, entry.path);
    if (entry.type === "SymbolicLink") {
      const linkpath = entry.linkpath ?? "";
      const resolved = await resolvePhysically(`${parent}/${linkpath}`);
      if (resolved === undefined || !isWithin(this.root, resolved)) {
        throw refusal(entry.path, outsideReason(resolved), this.options.label);
      }
      await symlink(linkpath, target);
      this.links.push({ path: target, entry: entry.path });
      return;
    }
    // `wx` never follows a link: the path was cleared above, so this creates a new file. Two
    // jobs restoring into one shared directory (a runner's HOME) may race to the same path:
    // the file the other wrote is cleared again, and this one written.
    const handle = await this.create(target, entry.path);
    try {
      for await (const chunk of entry) await handle.write(chunk);
      // Through the open file, not its path, which another restore may already have replaced.
      await handle.chmod((entry.mode ?? 0) & 0o111 ? 0o755 : 0o644);
      if (entry.mtime) await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
  }

  /** Opens a new file at a cleared path; one that reappeared meanwhile is cleared again. */
  private async create(target: string, entryPath: string) {
    for (let tries = 0; ; tries++) {
      try {
        return await open(target, "wx", 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || tries >= 5) throw err;
        await this.clear(target, entryPath);
      }
    }
  }

  /**
   * Makes sure the directory with these segments exists under the root, one level at a time,
   * and returns its real path. A level that is a link is allowed only when it resolves to a
   * directory inside the root; anything else in the way is refused.
   */
  private async directory(segments: readonly string[], entry: string): Promise<string> {
    let current = this.root;
    for (const [i, name] of segments.entries()) {
      const next = join(current, name);
      const shown = segments.slice(0, i + 1).join("/");
      let info = await lstat(next).catch(() => undefined);
      if (!info) {
        try {
          await mkdir(next);
          current = next;
          continue;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          info = await lstat(next);
        }
      }
      if (info.isDirectory()) {
        current = next;
      } else if (info.isSymbolicLink()) {
        const real = await realpath(next).catch(() => undefined);
        if (real === undefined || !isWithin(this.root, real)) {
          throw refusal(
            entry,
            `'${shown}' is a symbolic link that leads outside the destination`,
            this.options.label,
          );
        }
        if (!(await stat(real)).isDirectory()) {
          throw refusal(entry, `'${shown}' is not a directory`, this.options.label);
        }
        current = real;
      } else {
        throw refusal(entry, `'${shown}' exists and is not a directory`, this.options.label);
      }
    }
    return current;
  }

  /** Removes a file or link where an entry goes; a directory there is refused. */
  private async clear(target: string, entry: string): Promise<void> {
    const info = await lstat(target).catch(() => undefined);
    if (!info) return;
    if (info.isDirectory()) {
      throw refusal(entry, "a directory of that name is in the way", this.options.label);
    }
    // Another restore into the same directory may have removed it first.
    await unlink(target).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}

/**
 * Where `path` leads on disk, following every link along it and taking the part past the
 * first missing name literally; undefined for a loop (over 40 links). The path's `..` are
 * applied after the links before them, as the kernel applies them, which a lexical
 * normalisation would not do.
 */
async function resolvePhysically(path: string, depth = 0): Promise<string | undefined> {
  if (depth > 40) return undefined;
  const parts = path.split("/");
  let current = "/";
  for (const [i, part] of parts.entries()) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    const info = await lstat(next).catch(() => undefined);
    if (!info) return join(next, ...parts.slice(i + 1));
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    const link = await readlink(next);
    const resolved = await resolvePhysically(
      link.startsWith("/") ? link : `${current}/${link}`,
      depth + 1,
    );
    if (resolved === undefined) return undefined;
    current = resolved;
  }
  return current;
}

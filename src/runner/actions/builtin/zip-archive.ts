import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import yazl from "yazl";
import { InputError } from "../../../common/errors.js";
import {
  type ArchiveEntry,
  EntryWriter,
  type ExtractOptions,
  entryProblem,
  extractArchive,
  UnsafeArchiveError,
} from "./extract-archive.js";
import { findFiles } from "./find-files.js";
import { parseGlobPatterns } from "./glob-pattern.js";

/** The unix file type bits of a zip entry's external attributes, and a link's type. */
const TYPE_MASK = 0o170000;
const SYMLINK = 0o120000;

/** What {@link extractZip} needs of yauzl's entry. */
interface ZipEntryInfo {
  readonly fileName: string;
  readonly externalFileAttributes: number;
  getLastModDate(): Date;
}

/**
 * Extracts a zip archive (an artifact as `@actions/artifact` uploads it) into `destination`
 * with {@link extractArchive}'s refusals: every entry is checked before anything is written,
 * and a symbolic link, which an artifact never holds (the upload follows links), is refused.
 * Returns the number of entries written. Throws {@link UnsafeArchiveError} on a refusal and
 * {@link InputError} for a file that is not a zip archive.
 */
export async function extractZip(
  archive: string,
  destination: string,
  options: ExtractOptions,
): Promise<number> {
  const open = (lazy: boolean) =>
    new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(archive, { lazyEntries: lazy, autoClose: false }, (err, zip) =>
        err ? reject(err) : resolve(zip),
      ),
    ).catch((err: Error) => {
      throw new InputError(`${options.label} is not a readable zip archive: ${err.message}`);
    });
  const zip = await open(true);
  try {
    const entries = await readEntries(zip, options.label);
    for (const entry of entries) {
      const problem = zipEntryProblem(entry, options.only);
      if (problem) {
        throw new UnsafeArchiveError(
          `refusing to extract '${entry.fileName}' from ${options.label}: ${problem}`,
        );
      }
    }
    await mkdir(destination, { recursive: true });
    const writer = new EntryWriter(await realpath(destination), options);
    for (const entry of entries) {
      if (options.signal?.aborted) throw new Error("cancelled");
      const directory = entry.fileName.endsWith("/");
      const mode = entry.externalFileAttributes >>> 16;
      const body: Readable | undefined = directory
        ? undefined
        : await new Promise<Readable>((resolve, reject) =>
            zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))),
          );
      const written: ArchiveEntry = {
        path: entry.fileName,
        type: directory ? "Directory" : "File",
        mode,
        mtime: entry.getLastModDate(),
        [Symbol.asyncIterator]: async function* () {
          if (body) yield* body as AsyncIterable<Uint8Array>;
        },
      };
      await writer.write(written);
    }
    await writer.verifyLinks();
    return entries.length;
  } finally {
    zip.close();
  }
}

/** Why a zip entry must not be extracted, or undefined. Pure. */
export function zipEntryProblem(entry: ZipEntryInfo, only?: string): string | undefined {
  if (((entry.externalFileAttributes >>> 16) & TYPE_MASK) === SYMLINK) {
    return "it is a symbolic link, which an artifact never holds";
  }
  const directory = entry.fileName.endsWith("/");
  return entryProblem(
    { path: entry.fileName, type: directory ? "Directory" : "File", linkpath: "" },
    only,
  );
}

function readEntries(zip: yauzl.ZipFile, label: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on("end", () => resolve(entries));
    zip.on("error", (err: Error) =>
      reject(new InputError(`${label} is not a readable zip archive: ${err.message}`)),
    );
    zip.readEntry();
  });
}

/**
 * Writes a zip archive of the tar archive `tgz` (an artifact the built-in upload-artifact
 * stored) to `out`, for a client that only reads zip (`@actions/artifact`). The tar is
 * extracted with its refusals into a temporary directory beside it, which is removed after.
 */
export async function zipFromTar(tgz: string, out: NodeJS.WritableStream, label: string) {
  const scratch = await mkdtemp(join(tgz, "..", ".zip-"));
  try {
    await extractArchive(tgz, scratch, { label });
    const found = await findFiles(parseGlobPatterns([scratch], scratch, undefined), {
      followSymlinks: false,
      includeHidden: true,
      boundary: { path: scratch, label },
    });
    const zip = new yazl.ZipFile();
    const done = pipeline(zip.outputStream, out as NodeJS.WritableStream);
    for (const file of found.files) zip.addFile(file.path, relative(scratch, file.path));
    zip.end();
    await done;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The number of files (not folders) in a zip archive, counted without keeping its entries. */
export async function zipEntryCount(archive: string): Promise<number> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(archive, { lazyEntries: true, autoClose: false }, (err, z) =>
      err ? reject(err) : resolve(z),
    ),
  );
  try {
    return await new Promise<number>((resolve, reject) => {
      let files = 0;
      zip.on("entry", (entry: yauzl.Entry) => {
        if (!entry.fileName.endsWith("/")) files++;
        zip.readEntry();
      });
      zip.on("end", () => resolve(files));
      zip.on("error", reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/**
 * Writes a zip archive `file` of `paths` (files relative to `cwd`; links are followed), each
 * under its relative path, deflated at `level` (0 stores them), as upload-artifact packs.
 */
export async function createZip(
  file: string,
  cwd: string,
  paths: readonly string[],
  level: number,
): Promise<void> {
  const zip = new yazl.ZipFile();
  const done = pipeline(zip.outputStream, createWriteStream(file, { mode: 0o600 }));
  for (const path of paths) {
    zip.addFile(
      join(cwd, path),
      path,
      level === 0 ? { compress: false } : { compressionLevel: level },
    );
  }
  zip.end();
  await done;
}

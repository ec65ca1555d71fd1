import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../../common/errors.js";

/** What the store keeps about an artifact beside its archive. */
export interface ArtifactRecord {
  /** Unique in the run, increasing in upload order. */
  readonly id: number;
  readonly name: string;
  /** SHA-256 of the archive, in hex. */
  readonly digest: string;
  readonly size: number;
  readonly files: number;
  readonly createdAt: string;
  /** Recorded only: nothing deletes artifacts when they expire. */
  readonly expiresAt: string;
  /**
   * How the archive is packed: `tgz` (the built-in upload-artifact's gzip-compressed tar,
   * the default of records without the field) or `zip` (as `@actions/artifact` uploads it
   * through the artifact service, kept byte for byte so its digest holds).
   */
  readonly format?: ArtifactFormat;
  /** The job that uploaded it, when it came through the artifact service. */
  readonly job?: string;
}

/** The archive formats an artifact may be stored in. */
export type ArtifactFormat = "tgz" | "zip";

const INVALID_NAME_CHARACTERS: readonly [string, string][] = [
  ['"', 'Double quote "'],
  [":", "Colon :"],
  ["<", "Less than <"],
  [">", "Greater than >"],
  ["|", "Vertical bar |"],
  ["*", "Asterisk *"],
  ["?", "Question mark ?"],
  ["\r", "Carriage return \\r"],
  ["\n", "Line feed \\n"],
];

const INVALID_FILE_NAME_CHARACTERS: readonly [string, string][] = [
  ...INVALID_NAME_CHARACTERS,
  ["\\", "Backslash \\"],
  ["/", "Forward slash /"],
];

/** Longest name whose record file (`<name>.json`) fits a 255-byte file name. */
const MAX_NAME_BYTES = 250;

/**
 * Why `name` cannot name an artifact, or undefined. GitHub's rule (no `"`, `:`, `<`, `>`,
 * `|`, `*`, `?`, CR, LF, `\`, `/`, not empty), plus what a local file name needs (no NUL,
 * at most 250 bytes). Pure.
 */
export function artifactNameProblem(name: string): string | undefined {
  if (name === "") return "Provided artifact name input during validation is empty";
  for (const [character, label] of INVALID_FILE_NAME_CHARACTERS) {
    if (name.includes(character)) {
      return `The artifact name is not valid: ${name}. Contains the following character: ${label}. Invalid characters include: ${INVALID_FILE_NAME_CHARACTERS.map(([, l]) => l).join(", ")}`;
    }
  }
  if (name.includes("\0")) return `The artifact name is not valid: it contains a NUL character`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    return `The artifact name is too long: at most ${MAX_NAME_BYTES} bytes are stored locally`;
  }
  return undefined;
}

/**
 * Why a file's path inside an artifact is refused, or undefined: GitHub refuses the same
 * characters as in names, except the separators. Pure.
 */
export function artifactPathProblem(path: string): string | undefined {
  for (const [character, label] of INVALID_NAME_CHARACTERS) {
    if (path.includes(character)) {
      return `The path for one of the files in artifact is not valid: ${path}. Contains the following character: ${label}`;
    }
  }
  return undefined;
}

/**
 * A run's artifacts, in one directory: `<name>.tgz` or `<name>.zip` is the artifact (an archive
 * of its files, relative to the artifact's root; see {@link ArtifactRecord.format}),
 * `<name>.json` its {@link ArtifactRecord}, and
 * `.ids/` reserves ids. Names are validated before they become file names, and `.`/`..` are
 * harmless here because the suffix is always added.
 */
export class ArtifactStore {
  constructor(readonly dir: string) {}

  /** Where the archive of `name` in `format` lives. */
  archivePath(name: string, format: ArtifactFormat = "tgz"): string {
    return join(this.dir, `${checkedName(name)}.${format}`);
  }

  /** Removes artifact `name`; false when there is none. */
  async remove(name: string): Promise<boolean> {
    const record = await this.get(name);
    if (!record) return false;
    await rm(join(this.dir, `${checkedName(name)}.json`), { force: true });
    await rm(this.archivePath(name, record.format), { force: true });
    return true;
  }

  /** Every artifact of the run, in upload order. */
  async list(): Promise<ArtifactRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const records: ArtifactRecord[] = [];
    for (const file of names.filter((n) => n.endsWith(".json"))) {
      const record = await this.readRecord(join(this.dir, file));
      if (record && `${record.name}.json` === file) records.push(record);
    }
    return records.sort((a, b) => a.id - b.id);
  }

  /** The record of `name`, or undefined when there is no such artifact. */
  async get(name: string): Promise<ArtifactRecord | undefined> {
    return this.readRecord(join(this.dir, `${checkedName(name)}.json`));
  }

  /** A temporary file in the store, for an archive being written. */
  async temporaryPath(): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    return join(
      this.dir,
      `.upload-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    );
  }

  /**
   * Stores the archive at `temporary` as artifact `name` with a new id. Without `overwrite`,
   * a name already used in the run is refused ({@link InputError}), atomically: of two jobs
   * uploading the same name, one wins.
   */
  async add(
    temporary: string,
    record: Omit<ArtifactRecord, "id">,
    overwrite: boolean,
  ): Promise<ArtifactRecord> {
    const name = checkedName(record.name);
    const full: ArtifactRecord = { id: await this.reserveId(), ...record };
    try {
      await writeFile(join(this.dir, `${name}.json`), `${JSON.stringify(full, null, 2)}\n`, {
        flag: overwrite ? "w" : "wx",
      });
    } catch (err) {
      await rm(temporary, { force: true });
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw conflict(name);
      throw err;
    }
    // A replaced artifact of the other format leaves no stale archive behind.
    const other = full.format === "zip" ? "tgz" : "zip";
    await rm(this.archivePath(name, other), { force: true });
    await rename(temporary, this.archivePath(name, full.format));
    return full;
  }

  /** Refuses early when `name` is taken and may not be replaced. */
  async checkFree(name: string, overwrite: boolean): Promise<void> {
    if (!overwrite && (await this.get(name))) throw conflict(name);
  }

  private async reserveId(): Promise<number> {
    const ids = join(this.dir, ".ids");
    await mkdir(ids, { recursive: true });
    for (let id = (await readdir(ids)).length + 1; ; id++) {
      try {
        await (await open(join(ids, String(id)), "wx")).close();
        return id;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  }

  private async readRecord(path: string): Promise<ArtifactRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(path, "utf8")) as ArtifactRecord;
      return typeof record.name === "string" && typeof record.id === "number" ? record : undefined;
    } catch {
      return undefined;
    }
  }
}

function checkedName(name: string): string {
  const problem = artifactNameProblem(name);
  if (problem) throw new InputError(problem);
  return name;
}

function conflict(name: string): InputError {
  return new InputError(
    `an artifact named '${name}' already exists in this run: set 'overwrite: true' to replace it`,
  );
}

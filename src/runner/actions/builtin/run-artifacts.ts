import { pathToFileURL } from "node:url";
import { type ArtifactRecord, ArtifactStore } from "./artifact-store.js";

/**
 * A run's artifacts as the built-in upload and download actions use them: a directory of
 * the run ({@link LocalArtifacts}), or the server's artifact service, which a remote agent
 * reaches with the job's runtime token, so jobs on other agents see them.
 */
export interface RunArtifacts {
  /** Every artifact of the run, in upload order. */
  list(): Promise<ArtifactRecord[]>;
  /** The artifact `name`, or undefined. */
  get(name: string): Promise<ArtifactRecord | undefined>;
  /** Refuses ({@link InputError}) when `name` is taken and may not be replaced. */
  checkFree(name: string, overwrite: boolean): Promise<void>;
  /** A new local file for an archive being written. */
  temporaryPath(): Promise<string>;
  /** Stores the zip archive at `temporary` (moved or removed) as a new artifact. */
  add(
    temporary: string,
    record: Omit<ArtifactRecord, "id" | "format">,
    overwrite: boolean,
  ): Promise<ArtifactRecord>;
  /** A local file holding the artifact's archive, until `release` is called. */
  open(record: ArtifactRecord): Promise<{ path: string; release(): Promise<void> }>;
  /** Where a person finds the artifact (upload-artifact's `artifact-url` output). */
  url(record: ArtifactRecord): string;
}

/** A run's artifacts in a directory of the machine: an {@link ArtifactStore}. */
export class LocalArtifacts implements RunArtifacts {
  private readonly store: ArtifactStore;

  constructor(dir: string) {
    this.store = new ArtifactStore(dir);
  }

  list(): Promise<ArtifactRecord[]> {
    return this.store.list();
  }

  get(name: string): Promise<ArtifactRecord | undefined> {
    return this.store.get(name);
  }

  checkFree(name: string, overwrite: boolean): Promise<void> {
    return this.store.checkFree(name, overwrite);
  }

  temporaryPath(): Promise<string> {
    return this.store.temporaryPath();
  }

  add(
    temporary: string,
    record: Omit<ArtifactRecord, "id" | "format">,
    overwrite: boolean,
  ): Promise<ArtifactRecord> {
    return this.store.add(temporary, { ...record, format: "zip" }, overwrite);
  }

  async open(record: ArtifactRecord) {
    return { path: this.store.archivePath(record.name, record.format), release: async () => {} };
  }

  url(record: ArtifactRecord): string {
    return pathToFileURL(this.store.archivePath(record.name, record.format)).href;
  }
}

import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { create, extract } from "tar";
import { ApiError, InputError } from "../common/errors.js";
import {
  type CacheBackend,
  type CacheEntry,
  type CacheRoot,
  rootProblem,
  type StoredCacheEntry,
} from "../runner/actions/builtin/cache-store.js";

/** Upload chunks: the toolkit's size, so a server's limits fit both. */
const CHUNK_BYTES = 32 * 1024 * 1024;

/**
 * A repository's caches on a server's cache service, for the built-in cache actions of a job
 * on one of its runners: the protocol `@actions/cache` speaks (look up, reserve, upload in
 * chunks, commit, download from the signed URL), with the job's runtime token. An entry
 * travels as a plain tar of its directory (its archives and `entry.json`), under the
 * built-in action's version, which no toolkit entry has. Entries found are unpacked into
 * `scratch`, which {@link RemoteCaches.close} removes.
 */
export class RemoteCaches implements CacheBackend {
  private readonly dirs: string[] = [];

  constructor(
    private readonly options: {
      /** The service (`ACTIONS_CACHE_URL`), ending with `/`. */
      readonly cacheUrl: string;
      readonly token: string;
      readonly scratch: string;
    },
  ) {}

  async match(
    key: string,
    restoreKeys: readonly string[],
    version: string,
  ): Promise<{ entry: StoredCacheEntry; exact: boolean } | undefined> {
    const keys = encodeURIComponent([key, ...restoreKeys].join(","));
    const found = await this.call(
      "GET",
      `cache?keys=${keys}&version=${encodeURIComponent(version)}`,
    );
    if (found.status === 204) return undefined;
    if (found.status !== 200) throw await failure("looking up a cache entry", found);
    const { cacheKey, archiveLocation } = (await found.json()) as {
      cacheKey: string;
      archiveLocation: string;
    };
    const dir = await this.scratchDir();
    const archive = `${dir}.tar`;
    const got = await fetch(archiveLocation);
    if (got.status !== 200 || !got.body) throw await failure("downloading a cache entry", got);
    await pipeline(
      Readable.fromWeb(got.body as never),
      createWriteStream(archive, { mode: 0o600 }),
    );
    await extract({ file: archive, cwd: dir, strict: true });
    await rm(archive, { force: true });
    const entry = JSON.parse(await readFile(join(dir, "entry.json"), "utf8")) as CacheEntry;
    const bad = Array.isArray(entry.roots)
      ? entry.roots.map(rootProblem).find((p) => p !== undefined)
      : "no roots";
    if (bad) throw new InputError(`cache entry '${cacheKey}' from the server is malformed: ${bad}`);
    return { entry: { ...entry, dir }, exact: cacheKey === key };
  }

  async exists(key: string, version: string): Promise<boolean> {
    const found = await this.call(
      "GET",
      `cache?keys=${encodeURIComponent(key)}&version=${encodeURIComponent(version)}`,
    );
    if (found.status === 204) return false;
    if (found.status !== 200) throw await failure("looking up a cache entry", found);
    return ((await found.json()) as { cacheKey?: string }).cacheKey === key;
  }

  async save(
    key: string,
    version: string,
    build: (dir: string) => Promise<CacheRoot[]>,
  ): Promise<"saved" | "exists"> {
    const dir = await this.scratchDir();
    const roots = await build(dir);
    const entry: CacheEntry = { key, version, createdAt: Date.now(), roots };
    await writeFile(join(dir, "entry.json"), `${JSON.stringify(entry)}\n`);
    const archive = `${dir}.tar`;
    try {
      await create({ file: archive, cwd: dir, portable: true }, ["."]);
      const size = (await stat(archive)).size;
      const reserved = await this.call("POST", "caches", { key, version, cacheSize: size });
      if (reserved.status === 409) return "exists";
      if (reserved.status !== 201) throw await failure("reserving a cache entry", reserved);
      const { cacheId } = (await reserved.json()) as { cacheId: number };
      for (let start = 0; start < size; start += CHUNK_BYTES) {
        const end = Math.min(start + CHUNK_BYTES, size) - 1;
        const patched = await fetch(`${this.base()}caches/${cacheId}`, {
          method: "PATCH",
          headers: {
            authorization: `Bearer ${this.options.token}`,
            "content-type": "application/octet-stream",
            "content-range": `bytes ${start}-${end}/*`,
          },
          body: Readable.toWeb(createReadStream(archive, { start, end })) as ReadableStream,
          duplex: "half",
        } as RequestInit);
        if (patched.status !== 204) throw await failure("uploading a cache entry", patched);
      }
      const committed = await this.call("POST", `caches/${cacheId}`, { size });
      if (committed.status !== 204) throw await failure("committing a cache entry", committed);
      return "saved";
    } finally {
      await rm(archive, { force: true });
    }
  }

  /** Removes the entries unpacked here. */
  async close(): Promise<void> {
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }

  private base(): string {
    return `${this.options.cacheUrl}_apis/artifactcache/`;
  }

  private async scratchDir(): Promise<string> {
    const dir = join(this.options.scratch, randomUUID());
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.dirs.push(dir);
    return dir;
  }

  private call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.base()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
}

async function failure(what: string, res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {}
  return new ApiError(`${what} failed (HTTP ${res.status}): ${message}`, res.status);
}

import { createHmac, randomInt, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { CacheStore } from "../runner/actions/builtin/cache-store.js";
import { bearerToken } from "./runtime-token.js";
import { readJson, send, timingSafeEqualText } from "./service-http.js";

/** The archive file of an entry saved through the service (the toolkit's tar, opaque here). */
const ARCHIVE = "toolkit-cache.tar";

/** Largest entry accepted, as GitHub's 10 GB per repository. */
const MAX_ENTRY_BYTES = 10 * 1024 ** 3;

/** An upload between its reservation and its commit. */
interface Reservation {
  /** The job that reserved it: only that job writes and commits it. */
  readonly holder: string;
  readonly key: string;
  readonly version: string;
  readonly file: string;
  /** Chunks being written now: a commit waits for none. */
  writing: number;
  /** When it was reserved. */
  readonly at: number;
}

/** How long a signed archive URL stays valid. */
const ARCHIVE_URL_MS = 3_600_000;

/** Reservations not committed within this long are dropped (a job that went away). */
const RESERVATION_MS = 6 * 3_600_000;

/**
 * GitHub's cache service as `@actions/cache` speaks it when `ACTIONS_CACHE_SERVICE_V2` is not
 * set (its v1 REST protocol, under `<ACTIONS_CACHE_URL>_apis/artifactcache/`): `GET
 * cache?keys=&version=` finds an entry with GitHub's matching rule (the first key exactly,
 * else the newest entry each key prefixes; 204 for none), `POST caches` reserves a key (409
 * when it is saved or being saved), `PATCH caches/{id}` writes a chunk at its
 * `Content-Range`, `POST caches/{id}` commits it, and the entry's `archiveLocation` serves
 * the archive (at a signed URL, which the toolkit fetches without a token). Entries live in
 * a {@link CacheStore} (one per repository, shared with the built-in `actions/cache`, whose
 * entries have other versions), so they outlive the run. Every other request needs
 * `Authorization: Bearer <runtime token>`.
 */
export class CacheService {
  private readonly reservations = new Map<number, Reservation>();

  constructor(
    private readonly store: CacheStore,
    private readonly options: {
      /** Whether a bearer token is a runtime token this service answers. */
      /**
       * Who a bearer token is, for this service: the job (any text naming it) and whether it
       * may save; undefined when the service does not answer the token.
       */
      readonly authorize: (token: string) => Promise<{ job: string; write: boolean } | undefined>;
      /**
       * What archive URLs are bound to besides the entry (the repository's key on a server,
       * whose services share one secret): a URL of one never opens another's entry.
       */
      readonly scope: string;
      /** Signs archive URLs (32 bytes or more). */
      readonly urlSecret: Uint8Array;
      /**
       * The service's own URL as the request's client reaches it, ending with `/`
       * (`ACTIONS_CACHE_URL`): archive URLs point there.
       */
      readonly baseOf: (req: IncomingMessage) => string;
    },
  ) {}

  /** Removes the files of uploads never committed (a job that stopped between reserve and commit). */
  async close(): Promise<void> {
    const files = [...this.reservations.values()].map((r) => r.file);
    this.reservations.clear();
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }

  /** Answers one request whose path (after the service's base) is `path`. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const url = new URL(path, "http://cache");
    const route = url.pathname.replace(/^\/*_apis\/artifactcache\//, "");
    // The toolkit downloads an archive with no token, from the URL the lookup gave: that URL
    // is signed instead (as GitHub's are).
    if (req.method === "GET" && route.startsWith("archive/")) {
      const name = route.slice("archive/".length);
      const expires = url.searchParams.get("expires") ?? "";
      if (!/^\d+$/.test(expires) || Number(expires) < Date.now())
        return send(res, 403, { message: "the archive URL has expired" });
      if (!timingSafeEqualText(url.searchParams.get("sig") ?? "", this.sign(name, expires)))
        return send(res, 403, { message: "the archive URL's signature does not match" });
      return await this.download(name, res);
    }
    const caller = await this.options.authorize(bearerToken(req.headers.authorization) ?? "");
    if (!caller) return send(res, 401, { message: "a valid ACTIONS_RUNTIME_TOKEN is required" });
    this.dropStale();
    try {
      if (req.method === "GET" && route === "cache")
        return await this.find(url, res, this.options.baseOf(req));
      // Saving: only a token that may write (not a fork's pull request's).
      if (req.method !== "GET" && !caller.write)
        return send(res, 403, { message: "this job may restore caches but not save them" });
      if (req.method === "POST" && route === "caches")
        return await this.reserve(req, res, caller.job);
      const id = /^caches\/(\d+)$/.exec(route)?.[1];
      // Another job's upload, even of the same repository, is not this job's to write.
      const held = id ? this.reservations.get(Number(id)) : undefined;
      if (id && held && held.holder !== caller.job)
        return send(res, 403, { message: `cache upload ${id} is another job's` });
      if (id && req.method === "PATCH") return await this.upload(Number(id), req, res);
      if (id && req.method === "POST") return await this.commit(Number(id), req, res);
      return send(res, 404, { message: `no cache endpoint ${req.method} ${route}` });
    } catch (err) {
      return send(res, 400, { message: (err as Error).message });
    }
  }

  private async find(url: URL, res: ServerResponse, base: string): Promise<void> {
    const keys = (url.searchParams.get("keys") ?? "").split(",").filter((k) => k !== "");
    const version = url.searchParams.get("version") ?? "";
    const [key, ...restore] = keys;
    if (!key || !version) return send(res, 400, { message: "keys and version are required" });
    const found = await this.store.match(key, restore, version);
    if (!found?.entry.roots.some((r) => r.archive === ARCHIVE)) return send(res, 204);
    const name = found.entry.dir.split("/").pop() ?? "";
    const expires = String(Date.now() + ARCHIVE_URL_MS);
    return send(res, 200, {
      cacheKey: found.entry.key,
      scope: "refs/heads/main",
      creationTime: new Date(found.entry.createdAt).toISOString(),
      archiveLocation: `${base}_apis/artifactcache/archive/${name}?expires=${expires}&sig=${this.sign(name, expires)}`,
    });
  }

  /** The signature of an archive's URL: an HMAC of its name. */
  private sign(name: string, expires: string): string {
    return createHmac("sha256", this.options.urlSecret)
      .update(`${this.options.scope}\n${name}\n${expires}`)
      .digest("hex");
  }

  /** Forgets (and removes the files of) reservations older than {@link RESERVATION_MS}. */
  private dropStale(): void {
    const before = Date.now() - RESERVATION_MS;
    for (const [id, r] of this.reservations) {
      if (r.at >= before || r.writing > 0) continue;
      this.reservations.delete(id);
      void rm(r.file, { force: true }).catch(() => undefined);
    }
  }

  private async download(name: string, res: ServerResponse): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(name)) return send(res, 404, { message: "no such archive" });
    const file = join(this.store.dir, name, ARCHIVE);
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return send(res, 404, { message: "no such archive" });
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    // A file that vanishes midway ends the answer short (the client checks the length).
    await pipeline(createReadStream(file), res).catch(() => res.destroy());
  }

  private async reserve(req: IncomingMessage, res: ServerResponse, holder: string): Promise<void> {
    const body = (await readJson(req)) as { key?: unknown; version?: unknown; cacheSize?: unknown };
    if (typeof body.key !== "string" || body.key === "" || typeof body.version !== "string")
      return send(res, 400, { message: "key and version are required" });
    if (typeof body.cacheSize === "number" && body.cacheSize > MAX_ENTRY_BYTES)
      return send(res, 400, { message: `an entry is at most ${MAX_ENTRY_BYTES} bytes` });
    const { key, version } = body;
    const taken =
      this.store.has(key, version) ||
      [...this.reservations.values()].some((r) => r.key === key && r.version === version);
    if (taken) return send(res, 409, { message: `Cache already exists or is being saved: ${key}` });
    // Taken before the first await, so a second reservation of the key at once is a 409.
    // Not guessable, and not reused by another process or after a restart (the toolkit takes
    // a number).
    const id = randomInt(1, 2 ** 47);
    const file = join(this.store.dir, ".uploads", randomUUID());
    this.reservations.set(id, { holder, key, version, file, writing: 0, at: Date.now() });
    try {
      await mkdir(join(this.store.dir, ".uploads"), { recursive: true });
      await (await open(file, "w")).close();
    } catch (err) {
      this.reservations.delete(id);
      throw err;
    }
    return send(res, 201, { cacheId: id });
  }

  private async upload(id: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reservation = this.reservations.get(id);
    if (!reservation) return send(res, 404, { message: `no cache upload ${id}` });
    const range = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(String(req.headers["content-range"] ?? ""));
    if (!range) return send(res, 400, { message: "Content-Range: bytes START-END/* is required" });
    const start = Number(range[1]);
    const end = Number(range[2]);
    if (end < start || end >= MAX_ENTRY_BYTES)
      return send(res, 400, { message: `bad Content-Range ${range[0]}` });
    reservation.writing++;
    let at = start;
    const handle = await open(reservation.file, "r+").catch((err: unknown) => {
      reservation.writing--;
      throw err;
    });
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (at + chunk.length > end + 1)
          return send(res, 400, { message: "the chunk is longer than its Content-Range" });
        await handle.write(chunk, 0, chunk.length, at);
        at += chunk.length;
      }
    } finally {
      await handle.close();
      reservation.writing--;
    }
    if (at !== end + 1)
      return send(res, 400, { message: "the chunk is shorter than its Content-Range" });
    return send(res, 204);
  }

  private async commit(id: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reservation = this.reservations.get(id);
    if (!reservation) return send(res, 404, { message: `no cache upload ${id}` });
    const { size } = (await readJson(req)) as { size?: unknown };
    if (reservation.writing > 0)
      return send(res, 409, { message: "chunks of this upload are still being written" });
    const actual = (await stat(reservation.file)).size;
    if (typeof size !== "number" || size !== actual) {
      return send(res, 400, {
        message: `the upload has ${actual} bytes, the commit says ${String(size)}`,
      });
    }
    this.reservations.delete(id);
    try {
      await this.store.save(reservation.key, reservation.version, async (dir) => {
        await rename(reservation.file, join(dir, ARCHIVE));
        return [{ index: 0, archive: ARCHIVE }];
      });
    } finally {
      await rm(reservation.file, { force: true });
    }
    return send(res, 204);
  }
}

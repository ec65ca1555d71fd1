import { createHash, createHmac, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { TrunklineError } from "../common/errors.js";
import {
  type ArtifactRecord,
  type ArtifactStore,
  artifactNameProblem,
} from "../runner/actions/builtin/artifact-store.js";
import { zipEntryCount, zipFromTar } from "../runner/actions/builtin/zip-archive.js";
import { bearerToken, type RuntimeScope } from "./runtime-token.js";
import { readJson, send, timingSafeEqualText } from "./service-http.js";

/** The Twirp service `@actions/artifact` (v2 and later) calls. */
const TWIRP = "/twirp/github.actions.results.api.v1.ArtifactService/";

/** Largest artifact accepted (GitHub allows 10 GB per upload). */
const MAX_ARTIFACT_BYTES = 10 * 1024 ** 3;

/** How long a signed upload or download URL stays valid. */
const URL_LIFETIME_MS = 6 * 3_600_000;

/** GitHub's default retention, in days. */
const DEFAULT_RETENTION_DAYS = 90;

/** What the service needs from where it runs. */
export interface ArtifactServiceOptions {
  /** The store of a run's artifacts (the built-in upload-artifact's store of that run). */
  storeFor(runId: string): ArtifactStore;
  /** The scope of a valid `ACTIONS_RUNTIME_TOKEN`, or undefined. */
  verify(token: string): Promise<RuntimeScope | undefined>;
  /**
   * The origin a request's client reaches the service at (its `ACTIONS_RESULTS_URL`), without
   * a trailing `/`: the signed URLs handed out point there.
   */
  originOf(req: IncomingMessage): string;
  /** Signs the upload and download URLs the service hands out (32 bytes or more). */
  readonly urlSecret: Uint8Array;
}

/** An upload between CreateArtifact and FinalizeArtifact. */
interface Upload {
  readonly scope: RuntimeScope;
  readonly name: string;
  readonly expiresAt: string;
  /** Staged blocks go in here; the committed blob is `<dir>.blob`. */
  readonly dir: string;
  committed: boolean;
  /** Bytes staged so far, across blocks: an upload holds at most {@link MAX_ARTIFACT_BYTES}. */
  staged: number;
  /** When it was created: an upload outlives its URL by nothing. */
  readonly at: number;
}

/** Azure's limit on the blocks of one blob. */
const MAX_BLOCKS = 50_000;

/** A Twirp error: its HTTP status, code and message. */
class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GitHub's artifact service v4 as `@actions/artifact` speaks it: Twirp JSON calls at
 * `<origin>/twirp/github.actions.results.api.v1.ArtifactService/` (CreateArtifact,
 * FinalizeArtifact, ListArtifacts, GetSignedArtifactURL, DeleteArtifact), each with the job's
 * `ACTIONS_RUNTIME_TOKEN` and only for the run the token names; the archive itself goes to a
 * signed URL that speaks Azure Blob Storage's block upload (`comp=block`, `comp=blocklist`,
 * or one Put Blob), which the toolkit's Azure client uses, and comes back from a signed
 * download URL. Artifacts land in the run's {@link ArtifactStore} as zip archives kept byte
 * for byte (the digest the client computed holds), beside those of the built-in
 * upload-artifact, which are served as zip archives too.
 */
export class ArtifactService {
  private readonly uploads = new Map<string, Upload>();

  constructor(private readonly options: ArtifactServiceOptions) {}

  /** Whether this service answers `path` (a request's path with its query). */
  static handles(path: string): boolean {
    return path.startsWith(TWIRP) || path.startsWith("/_artifacts/");
  }

  /** Forgets (and removes the files of) uploads older than their URLs. */
  private async dropStale(): Promise<void> {
    const before = Date.now() - URL_LIFETIME_MS;
    const stale = [...this.uploads].filter(([, u]) => u.at < before);
    for (const [id] of stale) this.uploads.delete(id);
    await Promise.all(stale.map(([, u]) => removeUpload(u)));
  }

  /** Removes what uploads never finalized left behind. */
  async close(): Promise<void> {
    const uploads = [...this.uploads.values()];
    this.uploads.clear();
    await Promise.all(uploads.map((u) => removeUpload(u)));
  }

  /** Answers one request whose path (with its query) {@link ArtifactService.handles}. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://artifacts");
    try {
      if (url.pathname.startsWith(TWIRP)) {
        if (req.method !== "POST") throw new TwirpError(405, "bad_route", "Twirp calls are POSTs");
        const scope = await this.options.verify(bearerToken(req.headers.authorization) ?? "");
        if (!scope)
          throw new TwirpError(401, "unauthenticated", "a valid runtime token is required");
        const body = await readJson(req).catch((err: Error) => {
          throw new TwirpError(400, "malformed", err.message);
        });
        const origin = this.options.originOf(req);
        const method = url.pathname.slice(TWIRP.length);
        return send(res, 200, await this.call(method, scope, body, origin));
      }
      const upload = /^\/_artifacts\/upload\/([0-9a-f-]{36})$/.exec(url.pathname)?.[1];
      if (upload && req.method === "PUT") return await this.blob(upload, url, req, res);
      const download = /^\/_artifacts\/download\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (download?.[1] && download[2] && req.method === "GET") {
        const name = decodeText(download[2]);
        if (name === undefined) throw new TwirpError(404, "not_found", "no such artifact");
        return await this.download(download[1], name, url, res);
      }
      throw new TwirpError(404, "bad_route", `no artifact endpoint ${req.method} ${url.pathname}`);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof TwirpError)
        return send(res, err.status, { code: err.code, msg: err.message });
      if (err instanceof TrunklineError && err.userFacing) {
        return send(res, 400, { code: "invalid_argument", msg: err.message });
      }
      throw err;
    }
  }

  private async call(
    method: string,
    scope: RuntimeScope,
    body: Record<string, unknown>,
    origin: string,
  ): Promise<unknown> {
    // The token decides the run: a request naming another is refused, not redirected.
    if (body.workflow_run_backend_id !== scope.runId) {
      throw new TwirpError(403, "permission_denied", "the token is not for this workflow run");
    }
    const store = this.options.storeFor(scope.runId);
    switch (method) {
      case "CreateArtifact":
        return this.create(scope, body, store, origin);
      case "FinalizeArtifact":
        return this.finalize(scope, body, store);
      case "ListArtifacts":
        return this.list(scope, body, store);
      case "GetSignedArtifactURL": {
        const record = await store.get(nameOf(body));
        if (!record) throw new TwirpError(404, "not_found", `no artifact named ${nameOf(body)}`);
        return { signed_url: this.downloadUrl(origin, scope.runId, record.name) };
      }
      case "DeleteArtifact": {
        const record = await store.get(nameOf(body));
        if (!record || !(await store.remove(record.name))) {
          throw new TwirpError(404, "not_found", `no artifact named ${nameOf(body)}`);
        }
        return { ok: true, artifact_id: String(record.id) };
      }
      default:
        throw new TwirpError(404, "bad_route", `no method ${method}`);
    }
  }

  private async create(
    scope: RuntimeScope,
    body: Record<string, unknown>,
    store: ArtifactStore,
    origin: string,
  ) {
    const name = nameOf(body);
    if (await store.get(name)) {
      throw new TwirpError(
        409,
        "already_exists",
        `an artifact with this name already exists on the workflow run: ${name}`,
      );
    }
    const requested = typeof body.expires_at === "string" ? Date.parse(body.expires_at) : NaN;
    const expiresAt = new Date(
      Number.isNaN(requested) ? Date.now() + DEFAULT_RETENTION_DAYS * 86_400_000 : requested,
    ).toISOString();
    await this.dropStale();
    const id = randomUUID();
    const dir = join(store.dir, ".uploads", id);
    await mkdir(dir, { recursive: true });
    this.uploads.set(id, {
      scope,
      name,
      expiresAt,
      dir,
      committed: false,
      staged: 0,
      at: Date.now(),
    });
    const expires = Date.now() + URL_LIFETIME_MS;
    const sig = this.sign(`upload:${id}:${expires}`);
    return {
      ok: true,
      signed_upload_url: `${origin}/_artifacts/upload/${id}?expires=${expires}&sig=${sig}`,
    };
  }

  private async finalize(scope: RuntimeScope, body: Record<string, unknown>, store: ArtifactStore) {
    const name = nameOf(body);
    const entry = [...this.uploads.entries()].find(
      ([, u]) => u.name === name && u.scope.runId === scope.runId && u.scope.jobId === scope.jobId,
    );
    if (!entry) throw new TwirpError(404, "not_found", `no upload of an artifact named ${name}`);
    const [id, upload] = entry;
    if (!upload.committed) {
      throw new TwirpError(400, "failed_precondition", `the upload of ${name} has no content`);
    }
    this.uploads.delete(id);
    try {
      const blob = `${upload.dir}.blob`;
      const digest = await sha256(blob);
      const hash = typeof body.hash === "string" ? body.hash : undefined;
      if (hash !== undefined && hash !== `sha256:${digest}`) {
        throw new TwirpError(
          400,
          "data_loss",
          `the upload's digest is sha256:${digest}, not ${hash}`,
        );
      }
      const size = (await stat(blob)).size;
      const record = await store.add(
        blob,
        {
          name,
          digest,
          size,
          files: await zipEntryCount(blob).catch(() => 0),
          createdAt: new Date().toISOString(),
          expiresAt: upload.expiresAt,
          format: "zip",
          job: scope.jobId,
        },
        false,
      );
      return { ok: true, artifact_id: String(record.id) };
    } finally {
      await removeUpload(upload);
    }
  }

  private async list(scope: RuntimeScope, body: Record<string, unknown>, store: ArtifactStore) {
    const nameFilter = typeof body.name_filter === "string" ? body.name_filter : undefined;
    const idFilter = body.id_filter === undefined ? undefined : String(body.id_filter);
    const records = (await store.list()).filter(
      (r) =>
        (nameFilter === undefined || r.name === nameFilter) &&
        (idFilter === undefined || String(r.id) === idFilter),
    );
    return { artifacts: records.map((r) => monolith(scope.runId, r)) };
  }

  private downloadUrl(origin: string, runId: string, name: string): string {
    const expires = Date.now() + URL_LIFETIME_MS;
    const sig = this.sign(`download:${runId}:${name}:${expires}`);
    return `${origin}/_artifacts/download/${encodeURIComponent(runId)}/${encodeURIComponent(name)}?expires=${expires}&sig=${sig}`;
  }

  private sign(text: string): string {
    return createHmac("sha256", this.options.urlSecret).update(text).digest("hex");
  }

  /** Checks a signed URL's `expires` and `sig` against what it signs. */
  private checkSignature(url: URL, what: (expires: string) => string): void {
    const expires = url.searchParams.get("expires") ?? "";
    if (!/^\d+$/.test(expires) || Number(expires) < Date.now()) {
      throw new TwirpError(403, "permission_denied", "the signed URL has expired");
    }
    if (!timingSafeEqualText(url.searchParams.get("sig") ?? "", this.sign(what(expires)))) {
      throw new TwirpError(403, "permission_denied", "the URL's signature does not match");
    }
  }

  /** Azure's Put Block, Put Block List, or a whole Put Blob, on an upload's signed URL. */
  private async blob(id: string, url: URL, req: IncomingMessage, res: ServerResponse) {
    this.checkSignature(url, (expires) => `upload:${id}:${expires}`);
    const upload = this.uploads.get(id);
    if (!upload) throw new TwirpError(404, "not_found", "no such upload");
    const comp = url.searchParams.get("comp");
    if (comp === "block") {
      const blockId = url.searchParams.get("blockid") ?? "";
      if (blockId === "") throw new TwirpError(400, "invalid_argument", "blockid is required");
      upload.staged += await receive(req, join(upload.dir, blockFile(blockId)), upload.staged);
    } else if (comp === "blocklist") {
      const xml = (await readText(req)).toString();
      const ids = [...xml.matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)</g)].map(
        (m) => m[1] ?? "",
      );
      if (ids.length > MAX_BLOCKS)
        throw new TwirpError(400, "invalid_argument", `a blob has at most ${MAX_BLOCKS} blocks`);
      const staged = new Set(await readdir(upload.dir));
      const missing = ids.find((blockId) => !staged.has(blockFile(blockId)));
      if (missing !== undefined) {
        throw new TwirpError(400, "invalid_argument", `block ${missing} was never staged`);
      }
      // The blob's size is known before it is written: a list naming one block many times
      // must not write more than an artifact may hold.
      let total = 0;
      for (const blockId of ids) total += (await stat(join(upload.dir, blockFile(blockId)))).size;
      if (total > MAX_ARTIFACT_BYTES)
        throw new TwirpError(413, "resource_exhausted", "an artifact is at most 10 GB");
      const out = createWriteStream(`${upload.dir}.blob`, { mode: 0o600 });
      await pipeline(async function* () {
        for (const blockId of ids) yield* createReadStream(join(upload.dir, blockFile(blockId)));
      }, out);
      upload.committed = true;
    } else if (comp === null) {
      await receive(req, `${upload.dir}.blob`, 0);
      upload.committed = true;
    } else {
      throw new TwirpError(400, "invalid_argument", `comp=${comp} is not supported`);
    }
    res
      .writeHead(201, {
        etag: `"${randomUUID()}"`,
        "last-modified": new Date().toUTCString(),
        "x-ms-request-server-encrypted": "true",
        "x-ms-version": "2024-08-04",
      })
      .end();
  }

  private async download(runId: string, name: string, url: URL, res: ServerResponse) {
    this.checkSignature(url, (expires) => `download:${runId}:${name}:${expires}`);
    const store = this.options.storeFor(runId);
    const record = await store.get(name);
    if (!record) throw new TwirpError(404, "not_found", `no artifact named ${name}`);
    const headers = {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(`${name}.zip`)}`,
    };
    // A record written an instant before its archive was moved into place: not there yet.
    const file = store.archivePath(name, record.format);
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined)
      throw new TwirpError(404, "not_found", `artifact ${name} is not stored yet`);
    if (record.format === "zip") {
      res.writeHead(200, { ...headers, "content-length": size });
      await pipeline(createReadStream(file), res);
      return;
    }
    res.writeHead(200, headers);
    await zipFromTar(store.archivePath(name, "tgz"), res, `artifact '${name}'`);
  }
}

/** An artifact as ListArtifacts returns it; a tar artifact's zip has no fixed digest. */
function monolith(runId: string, record: ArtifactRecord) {
  return {
    workflow_run_backend_id: runId,
    workflow_job_run_backend_id: record.job ?? "",
    database_id: String(record.id),
    name: record.name,
    size: String(record.size),
    created_at: record.createdAt,
    ...(record.format === "zip" ? { digest: `sha256:${record.digest}` } : {}),
  };
}

function nameOf(body: Record<string, unknown>): string {
  const name = typeof body.name === "string" ? body.name : "";
  const problem = artifactNameProblem(name);
  if (problem) throw new TwirpError(400, "invalid_argument", problem);
  return name;
}

/** A staged block's file: block ids are arbitrary base64, so they are hashed. */
function blockFile(blockId: string): string {
  return createHash("sha256").update(blockId).digest("hex");
}

/** Writes a request body to `file`; resolves to its size. `before` bytes count against the limit. */
async function receive(req: IncomingMessage, file: string, before: number): Promise<number> {
  let size = before;
  await pipeline(
    req,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > MAX_ARTIFACT_BYTES) {
          throw new TwirpError(413, "resource_exhausted", "an artifact is at most 10 GB");
        }
        yield chunk;
      }
    },
    createWriteStream(file, { mode: 0o600 }),
  );
  return size - before;
}

async function readText(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4 * 1024 * 1024) throw new TwirpError(413, "resource_exhausted", "too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function removeUpload(upload: Upload): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
  await rm(`${upload.dir}.blob`, { force: true });
}

/** `decodeURIComponent`, or undefined for text that does not decode. */
function decodeText(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import { verifyRunner } from "../auth/runner-tokens.js";
import { allows, type TokenInfo, verifyToken } from "../auth/tokens.js";

/** Where hosted repositories live: bare repositories under `<dataDir>/repos`. */
export function repositoryPath(dataDir: string, name: string): string {
  return join(dataDir, "repos", `${name}.git`);
}

/**
 * Creates the bare repository of a repository: pushable for one hosted here; a mirror of a
 * remote one takes no pushes (its remote is the truth, and fetches overwrite).
 */
export async function createBareRepository(
  dataDir: string,
  name: string,
  defaultBranch: string,
  options: { pushable: boolean } = { pushable: true },
): Promise<void> {
  const path = repositoryPath(dataDir, name);
  await mkdir(path, { recursive: true });
  await run("git", ["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, path]);
  // Pushes are accepted over HTTP only with a valid token (checked before git sees them).
  if (options.pushable) await run("git", ["-C", path, "config", "http.receivepack", "true"]);
}

/** Called after a push changed refs: `[ref, old sha, new sha]` each. */
export type PushListener = (
  repository: string,
  updates: readonly RefUpdate[],
  pusher: TokenInfo,
) => void;

/** One ref a push changed; a zero sha means created (old) or deleted (new). */
export interface RefUpdate {
  readonly ref: string;
  readonly before: string;
  readonly after: string;
}

const ZERO = "0".repeat(40);

/**
 * Git smart HTTP for hosted repositories, served by git's own `git http-backend`: clone and
 * fetch need a viewer token, push a developer token, given as the password of HTTP Basic
 * authentication (the user name is ignored). After a push, `onPush` hears which refs moved.
 */
export function registerGitHttp(
  app: FastifyInstance,
  options: { db: Kysely<Database>; dataDir: string; onPush: PushListener },
): void {
  // git's request bodies are passed to http-backend untouched.
  for (const type of [
    "application/x-git-upload-pack-request",
    "application/x-git-receive-pack-request",
  ]) {
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }
  const handler = async (
    request: FastifyRequest<{ Params: { repo: string; "*": string } }>,
    reply: FastifyReply,
  ) => {
    const name = request.params.repo;
    const exists = await options.db
      .selectFrom("repositories")
      .select(["id", "remote_url"])
      .where("name", "=", name)
      .executeTakeFirst();
    const service = request.url.includes("git-receive-pack") ? "receive-pack" : "upload-pack";
    const caller = await basicToken(options.db, request.headers.authorization);
    if (!caller) {
      return reply
        .code(401)
        .header("www-authenticate", 'Basic realm="trunkline"')
        .send("authentication required: use an API token as the password\n");
    }
    if (!allows(caller.role, service === "receive-pack" ? "developer" : "viewer")) {
      return reply
        .code(403)
        .send(`a ${caller.role} token cannot ${service === "receive-pack" ? "push" : "fetch"}\n`);
    }
    if (!exists) return reply.code(404).send(`no repository '${name}'\n`);
    if (service === "receive-pack" && exists.remote_url !== null)
      return reply
        .code(403)
        .send(
          `'${name}' mirrors a remote repository: push there, and its webhooks start runs here\n`,
        );
    const repo = repositoryPath(options.dataDir, name);
    const before =
      service === "receive-pack" && request.method === "POST" ? await refs(repo) : undefined;
    const end = await cgi(
      request,
      reply,
      options.dataDir,
      `${name}.git/${request.params["*"]}`,
      caller,
    );
    // The push is reported before its response ends, so by the time `git push` returns the
    // server already knows (and has started) what the push triggers.
    if (before) {
      const after = await refs(repo);
      const updates: RefUpdate[] = [];
      for (const ref of new Set([...before.keys(), ...after.keys()])) {
        const b = before.get(ref) ?? ZERO;
        const a = after.get(ref) ?? ZERO;
        if (a !== b) updates.push({ ref, before: b, after: a });
      }
      if (updates.length > 0) options.onPush(name, updates, caller);
    }
    end();
    return reply;
  };
  app.get("/git/:repo.git/*", handler);
  app.post("/git/:repo.git/*", handler);
}

async function basicToken(
  db: Kysely<Database>,
  header: string | undefined,
): Promise<TokenInfo | undefined> {
  // A runner agent fetches the commit of its job with its runner token, as a reader.
  const runner = header ? /^Bearer\s+(tlr_\S+)$/i.exec(header) : null;
  if (runner?.[1]) {
    const info = await verifyRunner(db, runner[1]);
    return info ? { id: info.id, name: `runner ${info.name}`, role: "viewer" } : undefined;
  }
  const m = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const password = decoded.slice(decoded.indexOf(":") + 1);
  return verifyToken(db, password);
}

/**
 * Runs `git http-backend` as a CGI program for this request and streams its answer back;
 * resolves, once git is done, to the function that ends the response.
 */
function cgi(
  request: FastifyRequest,
  reply: FastifyReply,
  dataDir: string,
  pathInfo: string,
  caller: TokenInfo,
): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?") + 1) : "";
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "",
        GIT_PROJECT_ROOT: join(dataDir, "repos"),
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: `/${pathInfo}`,
        REQUEST_METHOD: request.method,
        QUERY_STRING: query,
        CONTENT_TYPE: String(request.headers["content-type"] ?? ""),
        REMOTE_USER: caller.name,
        REMOTE_ADDR: request.ip,
        ...(request.headers["content-encoding"]
          ? { HTTP_CONTENT_ENCODING: String(request.headers["content-encoding"]) }
          : {}),
        ...(request.headers["git-protocol"]
          ? { GIT_PROTOCOL: String(request.headers["git-protocol"]) }
          : {}),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const body = request.body as NodeJS.ReadableStream | undefined;
    if (body && typeof body.pipe === "function") body.pipe(child.stdin);
    else child.stdin.end();
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        reply.raw.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
        else if (key) reply.raw.setHeader(key, value);
      }
      reply.raw.statusCode = status;
      reply.hijack();
      reply.raw.write(head.subarray(end + 4));
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (!headersDone)
        resolve(() => void reply.code(500).send(`git http-backend failed (${code})\n`));
      else resolve(() => reply.raw.end());
    });
  });
}

async function refs(repo: string): Promise<Map<string, string>> {
  const out = await run("git", ["-C", repo, "for-each-ref", "--format=%(refname) %(objectname)"]);
  const map = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [ref, sha] = line.split(" ");
    if (ref && sha) map.set(ref, sha);
  }
  return map;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${command} ${args[0]}: ${err.trim()}`)),
    );
  });
}

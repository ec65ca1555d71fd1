import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { gitConfigEnv } from "../../actions/action-git.js";
import { NotFoundError } from "../../common/errors.js";
import type { RuntimeTokens } from "../../runtime/runtime-token.js";
import type { Database } from "../../store/database.js";
import { verifyRunner } from "../auth/runner-tokens.js";
import { allows, type Role, type TokenInfo, verifyToken } from "../auth/tokens.js";
import { gitCgi } from "./git-cgi.js";
import { parseGitRequest } from "./git-request.js";
import { JOB_PUSH_VARIABLE, PushReports, type RefUpdate } from "./push-report.js";

export type { RefUpdate } from "./push-report.js";

/**
 * Called after a push updated refs: exactly the refs that push updated, each once; resolves
 * to the lines to show the pusher (`remote:` lines), which `git push` waits for.
 */
export type PushListener = (
  repository: string,
  updates: readonly RefUpdate[],
  pusher: TokenInfo,
) => Promise<readonly string[]> | readonly string[] | undefined;

/**
 * Git smart HTTP for hosted repositories, served by git's own `git http-backend`: clone and
 * fetch need a viewer token, push a developer token and a hosted (not mirrored) repository,
 * the token given as the password of HTTP Basic authentication (the user name is ignored).
 * After a push, `onPush` hears the refs it updated, and its answer is shown to the pusher,
 * before the push's response ends.
 */
export function registerGitHttp(
  app: FastifyInstance,
  options: {
    db: Kysely<Database>;
    dataDir: string;
    onPush: PushListener;
    /** Checks jobs' `GITHUB_TOKEN`s; without it only API and runner tokens are taken. */
    jobTokens?: RuntimeTokens;
  },
): void {
  // git's request bodies are passed to http-backend untouched.
  for (const type of [
    "application/x-git-upload-pack-request",
    "application/x-git-receive-pack-request",
  ]) {
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }
  const reports = new PushReports(options.dataDir);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    // Decided from the decoded request, and handed to git as decided (see GitRequest). A
    // request that is not git's smart protocol is refused with the API's { code, message };
    // a 401 or 403 below is plain text, which git shows to the person pushing or cloning.
    const asked = parseGitRequest(request.method, request.raw.url ?? request.url);
    const name = asked.repository;
    const header = request.headers.authorization;
    const job = options.jobTokens ? await jobCaller(header, options.jobTokens) : undefined;
    if (job && job.repository !== name) {
      return reply
        .code(403)
        .send(`this job's GITHUB_TOKEN is for repository '${job.repository}', not '${name}'\n`);
    }
    if (job?.contents === "none") {
      return reply.code(403).send("this job's GITHUB_TOKEN has contents: none\n");
    }
    const caller = job?.caller ?? (await basicToken(options.db, header));
    if (!caller) {
      return reply
        .code(401)
        .header("www-authenticate", 'Basic realm="trunkline"')
        .send("authentication required: use an API token as the password\n");
    }
    const pushing = asked.service === "receive-pack";
    if (!allows(caller.role, pushing ? "developer" : "viewer")) {
      if (job) {
        return reply
          .code(403)
          .send(
            `this job's GITHUB_TOKEN has contents: ${job.contents}: ${pushing ? "pushing needs contents: write" : "fetching needs contents: read"}\n`,
          );
      }
      return reply.code(403).send(`a ${caller.role} token cannot ${pushing ? "push" : "fetch"}\n`);
    }
    const exists = await options.db
      .selectFrom("repositories")
      .select(["id", "remote_url"])
      .where("name", "=", name)
      .executeTakeFirst();
    // git says "repository not found" itself on a 404; the body is the API's error shape.
    if (!exists) throw new NotFoundError(`no repository '${name}'`);
    if (pushing && exists.remote_url !== null)
      return reply
        .code(403)
        .send(
          `'${name}' mirrors a remote repository: push there, and its webhooks start runs here\n`,
        );
    const mayPush = pushing && allows(caller.role, "developer") && exists.remote_url === null;
    const report = pushing && request.method === "POST" ? await reports.prepare() : undefined;
    const config: Record<string, string> = {
      // Told on every request, so a repository's stored config never decides who may push.
      "http.receivepack": String(mayPush),
      "http.uploadpack": String(!pushing),
      "http.getanyfile": "false",
      "core.hooksPath": reports.hooksPath,
    };
    const running = gitCgi(request, reply, join(options.dataDir, "repos"), asked, caller, {
      ...gitConfigEnv(config),
      ...report?.env,
      ...(job ? { [JOB_PUSH_VARIABLE]: "1" } : {}),
    });
    // The push is reported while git waits in its hook: what it started is known (and told to
    // the pusher as `remote:` lines) before `git push` returns. The response ends whatever
    // happens here.
    try {
      if (report) {
        try {
          const updates = await report.read(running);
          // The hook waits for an answer whenever it reported, even of nothing.
          // A push with a job's GITHUB_TOKEN starts no runs, as on GitHub: a workflow that
          // pushes would otherwise start itself again.
          if (updates !== undefined && job)
            await report.answer([
              "Trunkline: pushed with a job's GITHUB_TOKEN: no runs start (as on GitHub)",
            ]);
          else if (updates !== undefined)
            await report.answer(
              updates.length > 0 ? ((await options.onPush(name, updates, caller)) ?? []) : [],
            );
        } catch (err) {
          request.log.error({ err }, "a push could not be reported");
          await report
            .answer(["Trunkline: the server could not start this push's runs; see its log"])
            .catch(() => undefined);
        }
      }
    } finally {
      const end = await running;
      await report?.finish().catch(() => undefined);
      end();
    }
    return reply;
  };
  app.get("/git/*", handler);
  app.post("/git/*", handler);
}

/**
 * The job a `GITHUB_TOKEN` (the password of Basic auth, whatever the user: GitHub's
 * `x-access-token`) belongs to, as a caller of its `contents` access: `write` pushes, `read`
 * fetches, `none` neither; undefined for anything else.
 */
async function jobCaller(
  header: string | undefined,
  tokens: RuntimeTokens,
): Promise<{ caller: TokenInfo; repository: string; contents: string } | undefined> {
  const m = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const claims = await tokens.verifyGithubToken(decoded.slice(decoded.indexOf(":") + 1));
  if (!claims) return undefined;
  const role: Role = claims.contents === "write" ? "developer" : "viewer";
  return {
    caller: { id: `job:${claims.runId}`, name: `GITHUB_TOKEN of ${claims.job}`, role },
    repository: claims.repository,
    contents: claims.contents,
  };
}

/** The caller of a git request: a runner (its bearer token) or an API token as Basic password. */
export async function basicToken(
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

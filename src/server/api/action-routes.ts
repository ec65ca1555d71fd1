import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { gitConfigEnv } from "../../actions/action-git.js";
import type { ActionStore } from "../../actions/action-store.js";
import { NotFoundError } from "../../common/errors.js";
import type { Database } from "../../store/database.js";
import { gitCgi } from "../git/git-cgi.js";
import { basicToken } from "../git/git-http.js";
import { parseActionGitRequest } from "../git/git-request.js";
import { errorSchema } from "./schemas.js";

const NAME = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$";

/**
 * The server's action store, for runner agents (which need no internet of their own):
 * `GET /api/v1/actions/{owner}/{repo}/commits/{ref}` resolves a ref from the server's
 * sources (mirrors, then the git hosts), fetching the commit into the store, and answers its
 * SHA; the agent then fetches that commit over git smart HTTP from
 * `/_actions/{owner}/{repo}.git` (read-only, a runner token as bearer).
 */
export function registerActionRoutes(
  app: FastifyInstance,
  options: { db: Kysely<Database>; store: ActionStore },
): void {
  app.get(
    "/api/v1/actions/:owner/:repo/commits/*",
    {
      config: { runner: true },
      schema: {
        summary: "Resolve an action's ref to a commit the server's store holds",
        params: {
          type: "object",
          required: ["owner", "repo", "*"],
          properties: {
            owner: { type: "string", pattern: NAME },
            repo: { type: "string", pattern: NAME },
            "*": { type: "string", minLength: 1, maxLength: 255 },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["sha"],
            properties: {
              sha: { type: "string" },
              tried: { type: "array", items: { type: "string" } },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { owner = "", repo = "", "*": ref = "" } = request.params as Record<string, string>;
      const found = await options.store.commit(owner, repo, ref);
      if ("error" in found)
        throw new NotFoundError(
          `${found.error}${found.tried.length ? `; the server tried ${found.tried.join(", ")}` : ""}`,
        );
      return { sha: found.commit };
    },
  );

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const asked = parseActionGitRequest(request.method, request.raw.url ?? request.url);
    const caller = await basicToken(options.db, request.headers.authorization);
    if (!caller)
      return reply
        .code(401)
        .header("www-authenticate", 'Basic realm="trunkline"')
        .send("authentication required: a runner token (Bearer) or an API token\n");
    const end = await gitCgi(
      request,
      reply,
      `${options.store.dir}/git`,
      asked,
      caller,
      gitConfigEnv({
        "http.uploadpack": "true",
        "http.receivepack": "false",
        "http.getanyfile": "false",
        // Agents fetch the commit the resolve call named, which no branch or tag points at.
        "uploadpack.allowAnySHA1InWant": "true",
      }),
    );
    end();
    return reply;
  };
  app.get("/_actions/*", handler);
  app.post("/_actions/*", handler);
}

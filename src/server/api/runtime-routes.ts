import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerRuntime } from "../../runtime/server-runtime.js";

/**
 * GitHub's runtime services for jobs, at the paths GitHub's clients call (they are not part of
 * the REST API, so not in its OpenAPI document): the artifact service v4's Twirp calls, which
 * need the job's runtime token, and the upload and download URLs it signs. Bodies reach the
 * service unparsed (a zip's blocks, Azure's block list, Twirp's JSON).
 */
export function registerRuntimeRoutes(app: FastifyInstance, runtime: ServerRuntime): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      try {
        await runtime.artifacts.handle(request.raw, reply.raw);
      } catch (err) {
        request.log.error(err);
        if (!reply.raw.headersSent) {
          reply.raw
            .writeHead(500, { "content-type": "application/json" })
            .end(JSON.stringify({ code: "internal", msg: "internal error" }));
        } else reply.raw.destroy();
      }
    };
    const hidden = { schema: { hide: true } };
    scope.post("/twirp/github.actions.results.api.v1.ArtifactService/:method", hidden, handler);
    scope.put("/_artifacts/upload/:id", hidden, handler);
    scope.get("/_artifacts/download/:run/:name", hidden, handler);
  });
}

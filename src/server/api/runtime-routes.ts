import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { bearerToken } from "../../runtime/runtime-token.js";
import type { ServerRuntime } from "../../runtime/server-runtime.js";
import { originOf } from "../../runtime/service-http.js";

/**
 * GitHub's runtime services for jobs, at the paths GitHub's clients call (they are not part of
 * the REST API, so not in its OpenAPI document): the artifact service v4's Twirp calls, which
 * need the job's runtime token, and the upload and download URLs it signs (bodies reach the
 * service unparsed: a zip's blocks, Azure's block list, Twirp's JSON); and the OIDC issuer.
 */
export function registerRuntimeRoutes(app: FastifyInstance, runtime: ServerRuntime): void {
  registerOidcRoutes(app, runtime);
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
    // The cache service of one repository, `/_cache/<key>/_apis/artifactcache/...`.
    const cache = async (request: FastifyRequest, reply: FastifyReply) => {
      const key = (request.params as { key: string }).key;
      const service = runtime.cacheService(key);
      if (!service) return reply.code(404).send({ message: "no such cache" });
      reply.hijack();
      const path = (request.raw.url ?? "").slice(`/_cache/${key}`.length);
      await service.handle(request.raw, reply.raw, path).catch((err: unknown) => {
        request.log.error(err);
        if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
        else reply.raw.destroy();
      });
    };
    for (const method of ["GET", "POST", "PATCH"] as const) {
      scope.route({ method, url: "/_cache/:key/*", schema: { hide: true }, handler: cache });
    }
  });
}

/**
 * The OIDC issuer: `GET /_oidc/token?audience=` (`ACTIONS_ID_TOKEN_REQUEST_URL`) answers a
 * job's request token with `{ value }`, a token of the job's claims signed by the server's
 * key (the audience defaults to `<issuer>/<repository owner>`, as GitHub's to the owner's
 * URL); the issuer is the address the job reached the server at. The discovery document and
 * the JWKS are public, as a cloud's token exchange fetches them without credentials.
 */
function registerOidcRoutes(app: FastifyInstance, runtime: ServerRuntime): void {
  const hidden = { schema: { hide: true } };
  app.get("/.well-known/jwks", hidden, async () => runtime.oidc.jwks());
  app.get("/.well-known/openid-configuration", hidden, async (request) =>
    runtime.oidc.configuration(runtime.issuer ?? originOf(request.raw)),
  );
  app.get<{ Querystring: { audience?: string } }>(
    "/_oidc/token",
    hidden,
    async (request, reply) => {
      const claims = await runtime.tokens.verifyIdTokenRequest(
        bearerToken(request.headers.authorization) ?? "",
      );
      if (!claims) {
        return reply.code(401).send({
          code: "unauthorized",
          message:
            "a valid ACTIONS_ID_TOKEN_REQUEST_TOKEN is required (permissions: id-token: write)",
        });
      }
      const issuer = runtime.issuer ?? originOf(request.raw);
      const audience = request.query.audience || `${issuer}/${claims.repository_owner ?? ""}`;
      return { count: 1, value: await runtime.oidc.issue(claims, issuer, audience) };
    },
  );
}

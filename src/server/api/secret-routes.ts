import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.js";
import {
  deleteSecret,
  listSecrets,
  type SecretScope,
  setSecret,
} from "../../secrets/secret-store.js";
import type { Database } from "../../store/database.js";
import type { Role } from "../auth/tokens.js";
import { repositoryIdOf } from "./lookups.js";
import { errorSchema } from "./schemas.js";

type Params = { repo?: string; env?: string; name?: string };

/** One place secrets live, as routes see it. */
interface ScopeRoute {
  readonly path: string;
  /** Who may set and delete; anyone with a token may list names. */
  readonly writer: Role;
  scope(db: Kysely<Database>, params: Params): Promise<SecretScope>;
}

const SCOPES: readonly ScopeRoute[] = [
  {
    path: "/api/v1/secrets",
    writer: "admin",
    scope: async () => ({ kind: "organization" }),
  },
  {
    path: "/api/v1/repositories/:repo/secrets",
    writer: "maintainer",
    scope: async (db, p) => ({
      kind: "repository",
      repositoryId: await repositoryIdOf(db, p.repo ?? ""),
    }),
  },
  {
    path: "/api/v1/repositories/:repo/environments/:env/secrets",
    writer: "maintainer",
    scope: async (db, p) => ({
      kind: "environment",
      repositoryId: await repositoryIdOf(db, p.repo ?? ""),
      environment: p.env ?? "",
    }),
  },
];

/**
 * Secrets at organisation, repository and environment scope: set (a value goes in), list
 * (names and times only) and delete. No route ever returns a value.
 */
export function registerSecretRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; box: SecretBox },
): void {
  const { db, box } = deps;
  for (const route of SCOPES) {
    const scopeOf = (request: FastifyRequest) => route.scope(db, request.params as Params);
    app.get(
      route.path,
      {
        config: { role: "viewer" },
        schema: {
          response: {
            200: {
              type: "array",
              items: {
                type: "object",
                properties: { name: { type: "string" }, updatedAt: { type: "number" } },
              },
            },
            404: errorSchema,
          },
        },
      },
      async (request) => {
        const secrets = await listSecrets(db, await scopeOf(request));
        return secrets.map((s) => ({ name: s.name, updatedAt: s.updatedAt }));
      },
    );

    app.put<{ Body: { value: string } }>(
      `${route.path}/:name`,
      {
        config: { role: route.writer },
        schema: {
          body: {
            type: "object",
            required: ["value"],
            additionalProperties: false,
            properties: { value: { type: "string", maxLength: 48 * 1024 } },
          },
          response: { 204: { type: "null" }, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { name = "" } = request.params as Params;
        await setSecret(db, box, await scopeOf(request), name, request.body.value);
        return reply.code(204).send();
      },
    );

    app.delete(
      `${route.path}/:name`,
      {
        config: { role: route.writer },
        schema: { response: { 204: { type: "null" }, 404: errorSchema } },
      },
      async (request, reply) => {
        const { name = "" } = request.params as Params;
        if (!(await deleteSecret(db, await scopeOf(request), name)))
          return reply.code(404).send({ code: "not_found", message: `no secret '${name}'` });
        return reply.code(204).send();
      },
    );
  }
}

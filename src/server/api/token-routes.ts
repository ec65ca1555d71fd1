import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import { createToken, ROLES, type Role, revokeToken } from "../auth/tokens.js";
import { errorSchema } from "./schemas.js";

/** API tokens: create (the secret is shown once), list (never the secret) and revoke. Admins only. */
export function registerTokenRoutes(app: FastifyInstance, deps: { db: Kysely<Database> }): void {
  const { db } = deps;
  app.post<{ Body: { name: string; role: Role } }>(
    "/api/v1/tokens",
    {
      config: { role: "admin" },
      schema: {
        body: {
          type: "object",
          required: ["name", "role"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, maxLength: 100 },
            role: { type: "string", enum: [...ROLES] },
          },
        },
        response: {
          201: {
            type: "object",
            properties: {
              id: { type: "string" },
              name: { type: "string" },
              role: { type: "string" },
              token: { type: "string" },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { token, info } = await createToken(db, request.body.name, request.body.role);
      return reply.code(201).send({ ...info, token });
    },
  );

  app.get(
    "/api/v1/tokens",
    {
      config: { role: "admin" },
      schema: {
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                id: { type: "string" },
                name: { type: "string" },
                role: { type: "string" },
                createdAt: { type: "number" },
                lastUsedAt: { type: ["number", "null"] },
              },
            },
          },
        },
      },
    },
    async () => {
      const rows = await db
        .selectFrom("tokens")
        .select(["id", "name", "role", "created_at", "last_used_at"])
        .orderBy("created_at")
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        role: r.role,
        createdAt: Number(r.created_at),
        lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
      }));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api/v1/tokens/:id",
    { config: { role: "admin" }, schema: { response: { 404: errorSchema } } },
    async (request, reply) => {
      if (!(await revokeToken(db, request.params.id)))
        return reply
          .code(404)
          .send({ code: "not_found", message: `no token '${request.params.id}'` });
      return reply.code(204).send();
    },
  );
}

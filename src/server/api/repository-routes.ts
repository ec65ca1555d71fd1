import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { InputError } from "../../common/errors.js";
import type { Database } from "../../store/database.js";
import { redact } from "../../store/open-store.js";
import { createBareRepository, isBranchName } from "../git/bare-repository.js";
import { REPOSITORY_NAME_PATTERN } from "../git/git-request.js";
import { found } from "../not-found.js";
import { errorSchema } from "./schemas.js";

/**
 * Repositories: list them, create one, hosted here (push to it over git smart HTTP) or
 * mirrored from elsewhere (`remoteUrl`, fetched when its webhooks arrive), and change a
 * mirror's remote URL (to rotate the credentials in it). Credentials in a remote URL are
 * never shown back.
 */
export function registerRepositoryRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; dataDir?: string },
): void {
  const { db } = deps;
  const remoteUrlSchema = {
    type: "string",
    pattern: "^(https?://|ssh://|git@|/|file://)",
    maxLength: 2000,
  } as const;
  const repository = {
    type: "object",
    properties: {
      id: { type: "string" },
      name: { type: "string" },
      defaultBranch: { type: "string" },
      remoteUrl: { type: ["string", "null"] },
      remoteName: { type: ["string", "null"] },
    },
  } as const;

  app.get(
    "/api/v1/repositories",
    {
      config: { role: "viewer" },
      schema: { response: { 200: { type: "array", items: repository } } },
    },
    async () => {
      const rows = await db
        .selectFrom("repositories")
        .select(["id", "name", "default_branch", "remote_url", "remote_name"])
        .orderBy("name")
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        defaultBranch: r.default_branch,
        remoteUrl: r.remote_url === null ? null : redact(r.remote_url),
        remoteName: r.remote_name,
      }));
    },
  );

  app.post<{
    Body: { name: string; defaultBranch?: string; remoteUrl?: string; remoteName?: string };
  }>(
    "/api/v1/repositories",
    {
      config: { role: "admin" },
      schema: {
        body: {
          type: "object",
          required: ["name"],
          additionalProperties: false,
          properties: {
            name: { type: "string", pattern: REPOSITORY_NAME_PATTERN },
            defaultBranch: { type: "string", pattern: "^[A-Za-z0-9._/-]{1,200}$" },
            remoteUrl: remoteUrlSchema,
            remoteName: { type: "string", pattern: "^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$" },
          },
        },
        response: {
          201: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } },
          400: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { name, defaultBranch = "main", remoteUrl, remoteName } = request.body;
      // Checked before anything is created: git refuses such a name only once it is asked.
      if (!(await isBranchName(defaultBranch)))
        throw new InputError(
          `body.defaultBranch: '${defaultBranch}' is not a branch name git accepts (see git check-ref-format)`,
        );
      // The row claims the name first, in one statement, so of two creations at once one
      // wins and the other is told it exists; the bare repository follows, and a failure
      // there takes the row back.
      const id = randomUUID();
      const inserted = await db
        .insertInto("repositories")
        .values({
          id,
          name,
          default_branch: defaultBranch,
          created_at: Date.now(),
          remote_url: remoteUrl ?? null,
          remote_name: remoteName ?? null,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1)
        return reply.code(409).send({ code: "conflict", message: `repository '${name}' exists` });
      if (deps.dataDir)
        try {
          await createBareRepository(deps.dataDir, name, defaultBranch);
        } catch (err) {
          await db.deleteFrom("repositories").where("id", "=", id).execute();
          throw err;
        }
      return reply.code(201).send({ id, name });
    },
  );

  app.patch<{ Params: { repo: string }; Body: { remoteUrl: string } }>(
    "/api/v1/repositories/:repo",
    {
      config: { role: "admin" },
      schema: {
        params: {
          type: "object",
          properties: { repo: { type: "string", pattern: REPOSITORY_NAME_PATTERN } },
        },
        body: {
          type: "object",
          required: ["remoteUrl"],
          additionalProperties: false,
          properties: { remoteUrl: remoteUrlSchema },
        },
        response: { 200: repository, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { repo } = request.params;
      const row = found(
        await db
          .selectFrom("repositories")
          .select(["id", "name", "default_branch", "remote_url", "remote_name"])
          .where("name", "=", repo)
          .executeTakeFirst(),
        `repository '${repo}'`,
      );
      // A hosted repository is its own truth: giving it a remote would make it a mirror and
      // refuse the pushes it lives by.
      if (row.remote_url === null)
        return reply.code(409).send({
          code: "conflict",
          message: `repository '${repo}' is hosted here: it has no remote URL to change`,
        });
      await db
        .updateTable("repositories")
        .set({ remote_url: request.body.remoteUrl })
        .where("id", "=", row.id)
        .execute();
      return {
        id: row.id,
        name: row.name,
        defaultBranch: row.default_branch,
        remoteUrl: redact(request.body.remoteUrl),
        remoteName: row.remote_name,
      };
    },
  );
}

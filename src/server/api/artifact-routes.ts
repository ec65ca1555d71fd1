import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { NotFoundError } from "../../common/errors.js";
import { ArtifactStore } from "../../runner/actions/builtin/artifact-store.js";
import { zipFromTar } from "../../runner/actions/builtin/zip-archive.js";
import type { ServerRuntime } from "../../runtime/server-runtime.js";
import type { Database } from "../../store/database.js";
import { found } from "../not-found.js";
import { errorSchema } from "./schemas.js";

const artifactSchema = {
  type: "object",
  properties: {
    id: { type: "number" },
    name: { type: "string" },
    size_in_bytes: { type: "number" },
    digest: { type: "string", description: "sha256:<hex> of the zip archive" },
    archive_download_url: { type: "string" },
    expired: { type: "boolean" },
    created_at: { type: "string" },
    expires_at: { type: "string" },
  },
} as const;

/**
 * A run's artifacts in GitHub's shape: the list (`GET /api/v1/runs/{id}/artifacts`) and each
 * one's zip archive (`.../artifacts/{artifact_id}/zip`), whichever runner's job uploaded it.
 */
export function registerArtifactRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; runtime: ServerRuntime },
): void {
  const storeOf = async (id: string) => {
    const run = await deps.db
      .selectFrom("runs")
      .select("id")
      .where("id", "=", id)
      .executeTakeFirst();
    found(run, `run '${id}'`);
    return new ArtifactStore(deps.runtime.artifactDir(id));
  };

  app.get<{ Params: { id: string } }>(
    "/api/v1/runs/:id/artifacts",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "object",
            properties: {
              total_count: { type: "number" },
              artifacts: { type: "array", items: artifactSchema },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const records = await (await storeOf(request.params.id)).list();
      const base = `${request.protocol}://${request.headers.host}/api/v1/runs/${request.params.id}/artifacts`;
      return {
        total_count: records.length,
        artifacts: records.map((r) => ({
          id: r.id,
          name: r.name,
          size_in_bytes: r.size,
          ...(r.format === "zip" ? { digest: `sha256:${r.digest}` } : {}),
          archive_download_url: `${base}/${r.id}/zip`,
          expired: Date.parse(r.expiresAt) < Date.now(),
          created_at: r.createdAt,
          expires_at: r.expiresAt,
        })),
      };
    },
  );

  app.get<{ Params: { id: string; artifact: number } }>(
    "/api/v1/runs/:id/artifacts/:artifact/zip",
    {
      config: { role: "viewer" },
      schema: {
        params: {
          type: "object",
          properties: { id: { type: "string" }, artifact: { type: "integer", minimum: 1 } },
        },
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      const store = await storeOf(request.params.id);
      const record = found(
        (await store.list()).find((r) => r.id === request.params.artifact),
        `artifact ${request.params.artifact} of run '${request.params.id}'`,
      );
      reply
        .type("application/zip")
        .header(
          "content-disposition",
          `attachment; filename*=UTF-8''${encodeURIComponent(`${record.name}.zip`)}`,
        );
      const file = store.archivePath(record.name, record.format);
      const size = await stat(file).then(
        (s) => s.size,
        () => undefined,
      );
      // A record written an instant before its archive was moved into place.
      if (size === undefined) throw new NotFoundError(`artifact ${record.id} is not stored yet`);
      if (record.format === "zip") {
        reply.header("content-length", size);
        return reply.send(createReadStream(file));
      }
      const out = new PassThrough();
      void zipFromTar(
        store.archivePath(record.name, "tgz"),
        out,
        `artifact '${record.name}'`,
      ).catch((err: Error) => out.destroy(err));
      return reply.send(out);
    },
  );
}

import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { type Database, UNFINISHED_STATUSES } from "../../store/database.js";
import { hostNameOf } from "../runs/server-presence.js";

/**
 * The server processes sharing this store: each with its machine, process id, when it
 * started and was last seen, and how many unfinished runs it carries; the one answering is
 * marked. For operators of several processes on one database.
 */
export function registerServerRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; serverId?: string },
): void {
  const { db } = deps;
  app.get(
    "/api/v1/servers",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                id: { type: "string" },
                host: { type: "string" },
                pid: { type: "integer" },
                startedAt: { type: "number" },
                seenAt: { type: "number" },
                runs: { type: "integer" },
                self: { type: "boolean" },
              },
            },
          },
        },
      },
    },
    async () => {
      const servers = await db
        .selectFrom("servers")
        .select(["id", "host", "pid", "started_at", "seen_at"])
        .orderBy("started_at")
        .execute();
      const owned = await db
        .selectFrom("runs")
        .select(["owner", (eb) => eb.fn.countAll<number>().as("n")])
        .where("status", "in", UNFINISHED_STATUSES)
        .where("owner", "is not", null)
        .groupBy("owner")
        .execute();
      const runs = new Map(owned.map((o) => [o.owner, Number(o.n)]));
      return servers.map((s) => ({
        id: s.id,
        host: hostNameOf(s.host),
        pid: Number(s.pid),
        startedAt: Number(s.started_at),
        seenAt: Number(s.seen_at),
        runs: runs.get(s.id) ?? 0,
        self: s.id === deps.serverId,
      }));
    },
  );
}

import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../store/database.js";
import { readLog } from "../store/run-recorder.js";
import { found } from "./not-found.js";

/** How often a stream looks for new lines. */
const POLL_MS = 200;

/** Most lines read from the store at once, so a long log is sent in bounded reads. */
const READ_LINES = 1000;

const FINISHED = new Set(["success", "failure", "cancelled", "skipped"]);

/**
 * `GET /api/v1/jobs/{id}/logs/stream`: a job's log as Server-Sent Events, one event per line,
 * its id the line's number (from 1). A client that reconnects with `Last-Event-ID: N` (or
 * `?from=N`) gets the lines after N: none missed, none twice. When the job has finished and
 * every line was sent, an `end` event carries its status and the stream closes.
 */
export function registerLogStream(app: FastifyInstance, db: Kysely<Database>): void {
  app.get<{ Params: { id: string }; Querystring: { from?: number } }>(
    "/api/v1/jobs/:id/logs/stream",
    {
      config: { role: "viewer" },
      schema: {
        querystring: { type: "object", properties: { from: { type: "integer", minimum: 0 } } },
      },
    },
    async (request, reply) => {
      const job = found(
        await db
          .selectFrom("jobs")
          .select(["id"])
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `job '${request.params.id}'`,
      );
      const header = Number(request.headers["last-event-id"]);
      let next = Number.isInteger(header) && header >= 0 ? header : (request.query.from ?? 0);
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      let closed = false;
      request.raw.on("close", () => {
        closed = true;
      });
      try {
        while (!closed) {
          const status = (
            await db.selectFrom("jobs").select("status").where("id", "=", job.id).executeTakeFirst()
          )?.status;
          const { lines, next: after } = await readLog(db, job.id, next, READ_LINES);
          lines.forEach((line, i) => {
            out.write(`id: ${next + i + 1}\ndata: ${line.replace(/\r?\n/g, " ")}\n\n`);
          });
          next = after;
          if (lines.length === 0 && status && FINISHED.has(status)) {
            out.write(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
            break;
          }
          if (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } catch (err) {
        // The store failed a read (an outage): the response was taken over, so no error
        // answer can follow. Ending the stream without its `end` event makes the client
        // reconnect with Last-Event-ID and miss nothing, instead of waiting on a silent one.
        request.log.warn({ err }, "log stream ended: the store failed a read");
      } finally {
        out.end();
      }
    },
  );
}

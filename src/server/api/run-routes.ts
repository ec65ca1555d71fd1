import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { InputError } from "../../common/errors.js";
import { type Database, RUN_STATUSES } from "../../store/database.js";
import { readLog } from "../../store/run-recorder.js";
import { found } from "../not-found.js";
import { repositoryIdOf } from "./lookups.js";
import { earlierAttempt, noSuchAttempt } from "./run-attempts.js";
import { errorSchema, RUN_COLUMNS, runSchema, toRun } from "./schemas.js";

/** Lines in a page of `GET /api/v1/jobs/{id}/logs` when the request does not say. */
export const LOG_PAGE_DEFAULT = 1000;

/** The most lines a page of `GET /api/v1/jobs/{id}/logs` may ask for; more is refused. */
export const LOG_PAGE_MAX = 10_000;

const job = {
  type: "object",
  properties: {
    id: { type: "string" },
    key: { type: "string" },
    name: { type: "string" },
    status: { type: "string" },
    reason: { type: ["string", "null"] },
    startedAt: { type: ["number", "null"] },
    finishedAt: { type: ["number", "null"] },
  },
} as const;

/**
 * Reading runs: a repository's runs (newest first), one run with its jobs (of its latest
 * attempt, or `?attempt=N` for an earlier one, with that attempt's status and times; 404 for
 * an attempt it does not have), a run by its number, a job with its steps and outputs, and
 * a job's log a page at a time from any line.
 */
export function registerRunRoutes(app: FastifyInstance, deps: { db: Kysely<Database> }): void {
  const { db } = deps;
  const runWithJobs = {
    type: "object",
    properties: {
      ...runSchema.properties,
      jobs: { type: "array", items: job },
      problems: {
        type: "array",
        items: { type: "string" },
        description: "For a workflow file that does not parse: every problem, file:line:col",
      },
    },
  } as const;

  app.get<{ Params: { repo: string }; Querystring: { status?: string; limit?: number } }>(
    "/api/v1/repositories/:repo/runs",
    {
      config: { role: "viewer" },
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            status: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 1000 },
          },
        },
        response: { 200: { type: "array", items: runSchema }, 404: errorSchema },
      },
    },
    async (request) => {
      const { status } = request.query;
      if (status !== undefined && !RUN_STATUSES.includes(status))
        throw new InputError(
          `querystring.status: '${status}' is not a run status; expected one of ${RUN_STATUSES.join(", ")}`,
        );
      const id = await repositoryIdOf(db, request.params.repo);
      let query = db
        .selectFrom("runs")
        .select(RUN_COLUMNS)
        .where("repository_id", "=", id)
        .orderBy("number", "desc")
        .limit(request.query.limit ?? 100);
      if (request.query.status) query = query.where("status", "=", request.query.status);
      return (await query.execute()).map(toRun);
    },
  );

  const showRun = async (runId: string | undefined, what: string, attempt?: number) => {
    const row = found(
      runId
        ? await db.selectFrom("runs").select(RUN_COLUMNS).where("id", "=", runId).executeTakeFirst()
        : undefined,
      what,
    );
    const latest = Number(row.attempt);
    if (attempt !== undefined && attempt > latest) throw noSuchAttempt(what, attempt, latest);
    const jobs = await db
      .selectFrom("jobs")
      .select(["id", "key", "name", "status", "reason", "started_at", "finished_at"])
      .where("run_id", "=", row.id)
      .where("attempt", "=", attempt ?? latest)
      .orderBy("key")
      .execute();
    const invalid = await db
      .selectFrom("events")
      .select("data")
      .where("run_id", "=", row.id)
      .where("type", "=", "workflow.invalid")
      .executeTakeFirst();
    return {
      ...toRun(row),
      ...(invalid
        ? { problems: (JSON.parse(invalid.data) as { problems: string[] }).problems }
        : {}),
      // The row is the latest attempt's; an earlier one's status and times are its own.
      ...(attempt !== undefined && attempt < latest
        ? { attempt, ...(await earlierAttempt(db, row.id, attempt)) }
        : {}),
      jobs: jobs.map((j) => ({
        id: j.id,
        key: j.key,
        name: j.name,
        status: j.status,
        reason: j.reason,
        startedAt: j.started_at === null ? null : Number(j.started_at),
        finishedAt: j.finished_at === null ? null : Number(j.finished_at),
      })),
    };
  };
  const attemptQuery = {
    type: "object",
    additionalProperties: false,
    properties: { attempt: { type: "integer", minimum: 1 } },
  } as const;

  app.get<{ Params: { id: string }; Querystring: { attempt?: number } }>(
    "/api/v1/runs/:id",
    {
      config: { role: "viewer" },
      schema: { querystring: attemptQuery, response: { 200: runWithJobs, 404: errorSchema } },
    },
    async (request) =>
      showRun(request.params.id, `run '${request.params.id}'`, request.query.attempt),
  );

  app.get<{ Params: { repo: string; number: number }; Querystring: { attempt?: number } }>(
    "/api/v1/repositories/:repo/runs/:number",
    {
      config: { role: "viewer" },
      schema: {
        params: {
          type: "object",
          properties: { repo: { type: "string" }, number: { type: "integer", minimum: 1 } },
        },
        querystring: attemptQuery,
        response: { 200: runWithJobs, 404: errorSchema },
      },
    },
    async (request) => {
      const { repo, number } = request.params;
      const repositoryId = await repositoryIdOf(db, repo);
      const row = await db
        .selectFrom("runs")
        .select("id")
        .where("repository_id", "=", repositoryId)
        .where("number", "=", number)
        .executeTakeFirst();
      return showRun(row?.id, `run #${number} in ${repo}`, request.query.attempt);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/jobs/:id",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "object",
            properties: {
              ...job.properties,
              runId: { type: "string" },
              attempt: { type: "number" },
              outputs: { type: "object", additionalProperties: { type: "string" } },
              steps: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    number: { type: "number" },
                    name: { type: "string" },
                    stage: { type: "string" },
                    outcome: { type: ["string", "null"] },
                    conclusion: { type: ["string", "null"] },
                    startedAt: { type: "number" },
                    finishedAt: { type: ["number", "null"] },
                  },
                },
              },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const row = found(
        await db
          .selectFrom("jobs")
          .selectAll()
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `job '${request.params.id}'`,
      );
      const steps = await db
        .selectFrom("steps")
        .selectAll()
        .where("job_id", "=", row.id)
        .orderBy("number")
        .execute();
      return {
        id: row.id,
        runId: row.run_id,
        attempt: Number(row.attempt),
        key: row.key,
        name: row.name,
        status: row.status,
        reason: row.reason,
        startedAt: row.started_at === null ? null : Number(row.started_at),
        finishedAt: row.finished_at === null ? null : Number(row.finished_at),
        outputs: JSON.parse(row.outputs) as Record<string, string>,
        steps: steps.map((s) => ({
          number: Number(s.number),
          name: s.name,
          stage: s.stage,
          outcome: s.outcome,
          conclusion: s.conclusion,
          startedAt: Number(s.started_at),
          finishedAt: s.finished_at === null ? null : Number(s.finished_at),
        })),
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { from?: number; limit?: number } }>(
    "/api/v1/jobs/:id/logs",
    {
      config: { role: "viewer" },
      schema: {
        description: `A page of a job's log: at most \`limit\` lines from line \`from\` on. Follow \`next\` (also in the \`Link\` header, rel="next") while \`more\` is true to read the whole log.`,
        querystring: {
          type: "object",
          properties: {
            from: {
              type: "integer",
              minimum: 0,
              default: 0,
              description: "The first line to return, counted from 0: the previous page's `next`.",
            },
            limit: {
              type: "integer",
              minimum: 1,
              maximum: LOG_PAGE_MAX,
              default: LOG_PAGE_DEFAULT,
              description: `Most lines to return; a larger value is refused (400).`,
            },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["lines", "next", "more"],
            properties: {
              lines: { type: "array", items: { type: "string" } },
              next: {
                type: "number",
                description: "The line after the last one returned: the next page's `from`.",
              },
              more: {
                type: "boolean",
                description:
                  "Lines after `next` are stored already; false at the end of the log so far (a running job may add more).",
              },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const row = found(
        await db
          .selectFrom("jobs")
          .select("id")
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `job '${request.params.id}'`,
      );
      const limit = request.query.limit ?? LOG_PAGE_DEFAULT;
      const page = await readLog(db, row.id, request.query.from ?? 0, limit);
      if (page.more)
        void reply.header(
          "link",
          `</api/v1/jobs/${encodeURIComponent(row.id)}/logs?from=${page.next}&limit=${limit}>; rel="next"`,
        );
      return page;
    },
  );
}

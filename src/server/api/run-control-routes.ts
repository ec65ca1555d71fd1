import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { type Actor, actorOfCaller } from "../../events/domain-events.js";
import type { Database } from "../../store/database.js";
import { found } from "../not-found.js";
import type { UpcomingSchedule } from "../runs/scheduler.js";
import type { RerunResult, StartResult } from "../runs/start-result.js";
import { errorSchema } from "./schemas.js";

/** What the control routes ask of the server's runner; absent when the server runs nothing. */
export interface RunControl {
  /** Cancels a run running here; false when it is not running here. */
  /** Cancels a run wherever it runs; false when it runs nowhere. */
  cancel(runId: string, actor?: Actor): Promise<boolean>;
  dispatch(
    repository: string,
    request: {
      workflow: string;
      ref: string;
      inputs: Readonly<Record<string, string>>;
      actor?: string;
    },
  ): Promise<StartResult>;
  rerun(runId: string, failedOnly: boolean, actor?: Actor): Promise<RerunResult>;
  /** The schedules of a repository's default branch and when each fires next. */
  schedules(repository: string, defaultBranch: string): Promise<UpcomingSchedule[]>;
}

/** Starting and stopping runs: manual dispatch with inputs, cancel, re-runs, and schedules. */
export function registerRunControlRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; runs?: RunControl },
): void {
  const { db } = deps;
  const noRunner = { code: "no_runner", message: "this server runs no workflows" };

  app.post<{
    Params: { repo: string };
    Body: { workflow: string; ref?: string; inputs?: Record<string, string> };
  }>(
    "/api/v1/repositories/:repo/dispatch",
    {
      config: { role: "developer" },
      schema: {
        body: {
          type: "object",
          required: ["workflow"],
          additionalProperties: false,
          properties: {
            workflow: { type: "string", minLength: 1 },
            ref: { type: "string", minLength: 1 },
            inputs: { type: "object", additionalProperties: { type: "string" } },
          },
        },
        response: {
          201: {
            type: "object",
            properties: { runIds: { type: "array", items: { type: "string" } } },
          },
          404: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const repo = found(
        await db
          .selectFrom("repositories")
          .select(["id", "default_branch"])
          .where("name", "=", request.params.repo)
          .executeTakeFirst(),
        `repository '${request.params.repo}'`,
      );
      if (!deps.runs) return reply.code(422).send(noRunner);
      const result = await deps.runs.dispatch(request.params.repo, {
        workflow: request.body.workflow,
        ref: request.body.ref ?? repo.default_branch,
        inputs: request.body.inputs ?? {},
        ...(request.caller ? { actor: await actorOf(db, request.caller) } : {}),
      });
      if ("errors" in result)
        return reply.code(422).send({ code: "cannot_dispatch", message: result.errors.join("; ") });
      return reply.code(201).send(result);
    },
  );

  app.post<{ Params: { id: string } }>(
    "/api/v1/runs/:id/cancel",
    { config: { role: "developer" }, schema: { response: { 404: errorSchema, 409: errorSchema } } },
    async (request, reply) => {
      const run = found(
        await db
          .selectFrom("runs")
          .select(["id", "status"])
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `run '${request.params.id}'`,
      );
      const actor = request.caller ? actorOfCaller(request.caller) : undefined;
      if (!(await deps.runs?.cancel(run.id, actor))) {
        return reply
          .code(409)
          .send({ code: "not_running", message: `run '${run.id}' is not running (${run.status})` });
      }
      return reply.code(202).send({ status: "cancelling" });
    },
  );

  app.post<{ Params: { id: string }; Body: { failedOnly?: boolean } | undefined }>(
    "/api/v1/runs/:id/rerun",
    {
      config: { role: "developer" },
      schema: {
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { failedOnly: { type: "boolean" } },
        },
        response: {
          202: { type: "object", properties: { attempt: { type: "number" } } },
          404: errorSchema,
          409: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      if (!deps.runs) return reply.code(422).send(noRunner);
      const result = await deps.runs.rerun(
        request.params.id,
        request.body?.failedOnly === true,
        request.caller ? actorOfCaller(request.caller) : undefined,
      );
      if ("attempt" in result) return reply.code(202).send({ attempt: result.attempt });
      const status = { not_found: 404, running: 409, gone: 422 }[result.error];
      return reply.code(status).send({
        code: result.error,
        message: result.error === "not_found" ? `no ${result.message}` : result.message,
      });
    },
  );

  app.get<{ Params: { repo: string } }>(
    "/api/v1/repositories/:repo/schedules",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                workflow: { type: "string" },
                cron: { type: "string" },
                next: { type: ["number", "null"] },
              },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const repo = found(
        await db
          .selectFrom("repositories")
          .select(["name", "default_branch"])
          .where("name", "=", request.params.repo)
          .executeTakeFirst(),
        `repository '${request.params.repo}'`,
      );
      return deps.runs ? deps.runs.schedules(repo.name, repo.default_branch) : [];
    },
  );
}

/**
 * Who starts a run: the caller's token name; for a job's `GITHUB_TOKEN`, whoever triggered
 * that job's run (so a workflow that dispatches another does not make its runs nobody's, and
 * whoever pushed it cannot review them under `allow-self-review: false`).
 */
export async function actorOf(
  db: Kysely<Database>,
  caller: { readonly id: string; readonly name: string },
): Promise<string> {
  if (!caller.id.startsWith("job:")) return caller.name;
  const run = await db
    .selectFrom("runs")
    .select("trigger")
    .where("id", "=", caller.id.slice("job:".length))
    .executeTakeFirst();
  const actor = run ? (JSON.parse(run.trigger || "{}") as { actor?: unknown }).actor : undefined;
  return typeof actor === "string" && actor !== "" ? actor : caller.name;
}

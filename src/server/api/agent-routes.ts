import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { AgentLease, EventBatch, TimedRunnerEvent } from "../../agent/agent-protocol.js";
import type { JobResult } from "../../runner/job-runner.js";
import type { Database } from "../../store/database.js";
import { registerRunner } from "../auth/runner-tokens.js";
import type { JobDispatch } from "../runs/job-dispatch.js";

/** Longest a claim may wait for a job. */
const MAX_WAIT_MS = 60_000;

/**
 * A lease as a remote agent needs it: the commit is fetched from this server over git smart
 * HTTP, at the address the agent reached it by.
 */
function forAgent(lease: AgentLease, request: FastifyRequest): AgentLease {
  const name = lease.source.name;
  if (!name) return lease;
  return {
    ...lease,
    source: {
      ...lease.source,
      repository: `${request.protocol}://${request.headers.host}/git/${name}.git`,
    },
  };
}

/** A numbered batch of a job's events. */
const batchSchema = {
  type: "object",
  required: ["seq", "events"],
  properties: {
    seq: { type: "integer", minimum: 1 },
    events: { type: "array", items: { type: "object", required: ["type"] } },
  },
} as const;

const leaseBody = {
  type: "object",
  required: ["token"],
  properties: { token: { type: "integer", minimum: 1 } },
} as const;

/**
 * Runner agents: registration (a maintainer's API token buys a runner token), the runners
 * list, and the agent protocol under runner tokens: a long-poll claim that answers the
 * moment a fitting job is queued, and fenced writes (event batches, heartbeats, completion)
 * that a stale lease token gets 409 for.
 */
export function registerAgentRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; jobs?: JobDispatch },
): void {
  const { db } = deps;
  const stale = { code: "lease_lost", message: "this lease is no longer held: stop the job" };

  app.post<{ Body: { name: string; labels: string[]; capacity?: number } }>(
    "/api/v1/runners",
    {
      config: { role: "maintainer" },
      schema: {
        body: {
          type: "object",
          required: ["name", "labels"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, maxLength: 100 },
            labels: {
              type: "array",
              minItems: 1,
              maxItems: 50,
              items: { type: "string", pattern: "^[A-Za-z0-9._:/-]{1,100}$" },
            },
            capacity: { type: "integer", minimum: 1, maximum: 256 },
          },
        },
        response: {
          201: {
            type: "object",
            properties: { id: { type: "string" }, token: { type: "string" } },
          },
        },
      },
    },
    async (request, reply) => {
      const { token, info } = await registerRunner(db, {
        name: request.body.name,
        labels: request.body.labels,
        capacity: request.body.capacity ?? 1,
      });
      return reply.code(201).send({ id: info.id, token });
    },
  );

  app.get(
    "/api/v1/runners",
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
                name: { type: "string" },
                labels: { type: "array", items: { type: "string" } },
                capacity: { type: "number" },
                lastSeenAt: { type: "number" },
              },
            },
          },
        },
      },
    },
    async () => {
      const rows = await db
        .selectFrom("runners")
        .select(["id", "name", "labels", "capacity", "last_seen_at"])
        .orderBy("name")
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        labels: JSON.parse(r.labels) as string[],
        capacity: Number(r.capacity),
        lastSeenAt: Number(r.last_seen_at),
      }));
    },
  );

  const jobs = deps.jobs;
  if (!jobs) return;

  app.post<{ Body: { waitMs?: number } | undefined }>(
    "/api/v1/agent/claim",
    {
      config: { runner: true },
      logLevel: "warn",
      schema: {
        hide: true,
        body: {
          type: ["object", "null"],
          properties: { waitMs: { type: "integer", minimum: 0, maximum: MAX_WAIT_MS } },
        },
      },
    },
    async (request, reply) => {
      const runner = request.runner as NonNullable<typeof request.runner>; // set by the auth hook
      // The agent hung up (the response closed before it was sent): stop waiting for it.
      const gone = new AbortController();
      reply.raw.on("close", () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      const lease = await jobs.claim(runner, request.body?.waitMs ?? 25_000, gone.signal);
      // A stopping server: the agent backs off and asks again (another process, or later).
      if (!lease && jobs.stopping)
        return reply
          .code(503)
          .header("retry-after", "1")
          .send({ code: "stopping", message: "the server is stopping" });
      if (!lease) return reply.code(204).send();
      if (gone.signal.aborted) {
        // Nobody is listening any more: the lease expires and the job is reaped as lost.
        return reply.code(204).send();
      }
      return reply.code(200).send(forAgent(lease, request));
    },
  );

  app.post<{
    Params: { entry: string };
    Body: { token: number; seq: number; events: TimedRunnerEvent[] };
  }>(
    "/api/v1/agent/jobs/:entry/events",
    {
      config: { runner: true },
      logLevel: "warn",
      bodyLimit: 32 * 1024 * 1024,
      schema: {
        hide: true,
        body: {
          type: "object",
          required: ["token", "seq", "events"],
          properties: { token: { type: "integer", minimum: 1 }, ...batchSchema.properties },
        },
      },
    },
    async (request, reply) => {
      const { token, seq, events } = request.body;
      if ((await jobs.send(request.params.entry, token, seq, events)) === "stale")
        return reply.code(409).send(stale);
      return { ok: true };
    },
  );

  app.post<{ Params: { entry: string }; Body: { token: number } }>(
    "/api/v1/agent/jobs/:entry/heartbeat",
    { config: { runner: true }, logLevel: "warn", schema: { hide: true, body: leaseBody } },
    async (request) => jobs.heartbeat(request.params.entry, request.body.token),
  );

  app.post<{
    Params: { entry: string };
    Body: {
      token: number;
      result: JobResult;
      final?: EventBatch;
      sent?: number;
      claim?: boolean;
    };
  }>(
    "/api/v1/agent/jobs/:entry/complete",
    {
      config: { runner: true },
      logLevel: "warn",
      schema: {
        hide: true,
        body: {
          type: "object",
          required: ["token", "result"],
          properties: {
            token: { type: "integer", minimum: 1 },
            final: batchSchema,
            sent: { type: "integer", minimum: 0 },
            claim: { type: "boolean" },
            result: {
              type: "object",
              required: ["status", "outputs"],
              properties: {
                status: { type: "string", enum: ["success", "failure", "cancelled", "skipped"] },
                outputs: { type: "object", additionalProperties: { type: "string" } },
                reason: { type: "string" },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { token, result, final, sent, claim } = request.body;
      const options = { ...(final ? { final } : {}), ...(sent !== undefined ? { sent } : {}) };
      if (!(await jobs.complete(request.params.entry, token, result, options)))
        return reply.code(409).send(stale);
      // The agent's next job, if one is waiting: a busy agent makes one request per job.
      const runner = request.runner as NonNullable<typeof request.runner>;
      const next = claim ? await jobs.claim(runner, 0) : undefined;
      return next ? { ok: true, next: forAgent(next, request) } : { ok: true };
    },
  );
}

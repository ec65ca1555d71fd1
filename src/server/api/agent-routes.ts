import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import {
  AGENT_PROTOCOL_HEADER,
  type AgentLease,
  type EventBatch,
  protocolProblem,
} from "../../agent/agent-protocol.js";
import type { Database } from "../../store/database.js";
import {
  type RunnerInfo,
  registerRunner,
  removeRunner,
  runnerRegistered,
  SEEN_EVERY_MS,
} from "../auth/runner-tokens.js";
import type { JobDispatch } from "../runs/job-dispatch.js";
import { RUNNER_LOST } from "../runs/retry-lost.js";
import { errorSchema } from "./schemas.js";

/** Longest a claim may wait for a job. */
const MAX_WAIT_MS = 60_000;

/**
 * A runner seen within this long is online. A live agent is never silent longer than its
 * longest claim (60 s; it heartbeats every second while it runs a job), and a runner's
 * last-seen time is written at most every 10 s; the rest is room for a reconnect's backoff.
 */
export const ONLINE_WITHIN_MS = MAX_WAIT_MS + SEEN_EVERY_MS + 20_000;

/**
 * A lease as a remote agent needs it: the commit is fetched from this server over git smart
 * HTTP, and its jobs reach the server's runtime services, at the address the agent reached
 * it by.
 */
function forAgent(lease: AgentLease, request: FastifyRequest): AgentLease {
  const origin = `${request.protocol}://${request.headers.host}`;
  const name = lease.source.name;
  return {
    ...lease,
    ...(name ? { source: { ...lease.source, repository: `${origin}/git/${name}.git` } } : {}),
    ...(lease.runtime ? { runtime: { ...lease.runtime, resultsUrl: `${origin}/` } } : {}),
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
 * list (online or offline) and removal (an admin's), and the agent protocol under runner
 * tokens: a long-poll claim that answers the moment a fitting job is queued, and fenced
 * writes (event batches, heartbeats, completion) about the runner's own lease only. A stale
 * lease gets 409; another runner's lease, or a report outside the closed schema of
 * `agent/runner-report.ts`, 403 (a malformed one 400); a removed runner's token 401.
 */
export function registerAgentRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; jobs?: JobDispatch },
): void {
  const { db } = deps;
  const stale = { code: "lease_lost", message: "this lease is no longer held: stop the job" };

  app.post<{ Body: { name: string; labels: string[]; capacity?: number; protocol?: number } }>(
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
            protocol: {
              type: "integer",
              minimum: 1,
              description: "the agent protocol version the agent speaks",
            },
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
      // An API client registering a runner by hand names no protocol; an agent does.
      const problem =
        request.body.protocol === undefined ? undefined : protocolProblem(request.body.protocol);
      if (problem) return reply.code(400).send({ code: "agent_protocol", message: problem });
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
                state: {
                  type: "string",
                  enum: ["online", "offline"],
                  description: `online: seen in the last ${ONLINE_WITHIN_MS / 1000} s`,
                },
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
        .orderBy("id")
        .execute();
      const now = Date.now();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        labels: JSON.parse(r.labels) as string[],
        capacity: Number(r.capacity),
        lastSeenAt: Number(r.last_seen_at),
        state: now - Number(r.last_seen_at) <= ONLINE_WITHIN_MS ? "online" : "offline",
      }));
    },
  );

  /**
   * The claims waiting in this process, by runner: a removal ends them at once, so the agent
   * hears it now rather than when its wait runs out (a claim waiting in another process
   * hears it then).
   */
  const claiming = new Map<string, Set<AbortController>>();

  app.delete<{ Params: { id: string } }>(
    "/api/v1/runners/:id",
    {
      config: { role: "admin" },
      schema: {
        description:
          "Removes a runner: its token is refused from its next request on, and the jobs it held fail as runner_lost.",
        params: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await removeRunner(db, id)))
        return reply.code(404).send({ code: "not_found", message: `no runner '${id}'` });
      // Its jobs end as a lost runner's do: failed as runner_lost, which
      // `serve --retry-runner-lost` may start again as a new attempt. (Without a dispatch
      // here, its leases expire, as nothing can renew them now.)
      await deps.jobs?.loseRunner(id, RUNNER_LOST);
      for (const waiting of claiming.get(id) ?? []) waiting.abort();
      return reply.code(204).send();
    },
  );

  const jobs = deps.jobs;
  if (!jobs) return;
  const removed = { code: "unauthorized", message: "this runner was removed" };

  /**
   * A claim for a registered runner. One removed while its claim waits takes no job (the
   * queue looks for the runner in the same statement); one leased a job in the very moment
   * of its removal loses it at once, as its removal lost the others.
   */
  const claimFor = async (
    runner: RunnerInfo,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<AgentLease | undefined | "removed"> => {
    const lease = await jobs.claim({ ...runner, registered: true }, waitMs, signal);
    if (await runnerRegistered(db, runner.id)) return lease;
    if (lease) await jobs.loseRunner(runner.id, RUNNER_LOST);
    return "removed";
  };

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
      const problem = protocolProblem(request.headers[AGENT_PROTOCOL_HEADER]);
      if (problem) return reply.code(400).send({ code: "agent_protocol", message: problem });
      // The agent hung up (the response closed before it was sent): stop waiting for it.
      const gone = new AbortController();
      reply.raw.on("close", () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      const mine = claiming.get(runner.id) ?? new Set<AbortController>();
      claiming.set(runner.id, mine.add(gone));
      let lease: Awaited<ReturnType<typeof claimFor>>;
      try {
        lease = await claimFor(runner, request.body?.waitMs ?? 25_000, gone.signal);
      } finally {
        mine.delete(gone);
        if (mine.size === 0) claiming.delete(runner.id);
      }
      if (lease === "removed") return reply.code(401).send(removed);
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

  /** The lease a runner names in a write: the entry in the path, the runner, its token. */
  const held = (
    request: FastifyRequest<{ Params: { entry: string }; Body: { token: number } }>,
  ) => ({
    entryId: request.params.entry,
    runnerId: (request.runner as NonNullable<typeof request.runner>).id, // set by the auth hook
    token: request.body.token,
  });

  app.post<{
    Params: { entry: string };
    Body: { token: number; seq: number; events: unknown[] };
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
      const { seq, events } = request.body;
      if ((await jobs.send(held(request), seq, events)) === "stale")
        return reply.code(409).send(stale);
      return { ok: true };
    },
  );

  app.post<{ Params: { entry: string }; Body: { token: number } }>(
    "/api/v1/agent/jobs/:entry/heartbeat",
    { config: { runner: true }, logLevel: "warn", schema: { hide: true, body: leaseBody } },
    async (request) => jobs.heartbeat(held(request)),
  );

  app.post<{
    Params: { entry: string };
    Body: {
      token: number;
      result: unknown;
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
            // Checked field by field by the dispatch (the closed schema of what a runner reports).
            result: { type: "object" },
          },
        },
      },
    },
    async (request, reply) => {
      const { result, final, sent, claim } = request.body;
      const options = { ...(final ? { final } : {}), ...(sent !== undefined ? { sent } : {}) };
      if (!(await jobs.complete(held(request), result, options)))
        return reply.code(409).send(stale);
      // The agent's next job, if one is waiting: a busy agent makes one request per job.
      const runner = request.runner as NonNullable<typeof request.runner>;
      const next = claim ? await claimFor(runner, 0) : undefined;
      return next && next !== "removed"
        ? { ok: true, next: forAgent(next, request) }
        : { ok: true };
    },
  );
}

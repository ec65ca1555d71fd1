import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from "fastify";
import { ErrorCode, TrunklineError } from "../common/errors.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { deleteSecret, listSecrets, setSecret } from "../secrets/secret-store.js";
import type { Store } from "../store/open-store.js";
import { readLog } from "../store/run-recorder.js";
import {
  allows,
  createToken,
  ROLES,
  type Role,
  type TokenInfo,
  verifyToken,
} from "./auth/tokens.js";
import { createBareRepository, type PushListener, registerGitHttp } from "./git/git-http.js";
import { registerLogStream } from "./log-stream.js";
import { found } from "./not-found.js";
import { registerWebhooks } from "./webhooks/webhook-routes.js";

/** What the API needs. */
export interface AppDependencies {
  readonly store: Store;
  readonly box: SecretBox;
  /** pino options, or false for no request logs (tests). @default true */
  readonly logger?: boolean | Record<string, unknown>;
  /** Where hosted repositories are kept; without it the server hosts none. */
  readonly dataDir?: string;
  /** Hears every push to a hosted repository. */
  readonly onPush?: PushListener;
  /** The secret GitHub-format webhook deliveries are signed with (`TRUNKLINE_WEBHOOK_SECRET`). */
  readonly webhookSecret?: string;
  /** Cancels a run this server is running; false when it is not running here. */
  readonly cancelRun?: (runId: string) => boolean;
  /** Starts `workflow_dispatch` of a workflow of a hosted repository. */
  readonly dispatch?: (
    repository: string,
    request: { workflow: string; ref: string; inputs: Readonly<Record<string, string>> },
  ) => Promise<{ runIds: string[] } | { errors: string[] }>;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The token's holder; set by the auth hook on every authenticated route. */
    caller?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are public (health, signed webhooks). */
    role?: Role;
  }
}

const error = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

/**
 * The REST API: every route needs a bearer token of a high enough role, except `/healthz`
 * (and, soon, signed webhooks). Errors are JSON `{ code, message }` with stable codes; bodies
 * are validated at the edge, so a malformed one is a 400 naming the field, never a 500.
 * Secret values go in and never come out.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? true,
    ajv: { customOptions: { allErrors: false } },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Trunkline API",
        version: "0.1.0",
        description: "Runs, repositories, secrets and tokens of a Trunkline server.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  const db = deps.store.db;

  app.addHook("onRequest", async (request, reply) => {
    const role = request.routeOptions.config.role;
    if (!role) return;
    const token = bearer(request);
    const caller = token ? await verifyToken(db, token) : undefined;
    if (!caller) {
      await reply.code(401).send({
        code: "unauthorized",
        message: "a valid API token is required (Authorization: Bearer <token>)",
      });
      return reply;
    }
    if (!allows(caller.role, role)) {
      await reply.code(403).send({
        code: "forbidden",
        message: `this needs the ${role} role; the token has ${caller.role}`,
      });
      return reply;
    }
    request.caller = caller;
  });

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const where = `${err.validationContext ?? "body"}${first?.instancePath ? first.instancePath.replace(/\//g, ".") : ""}`;
      return reply
        .code(400)
        .send({ code: "invalid_request", message: `${where}: ${first?.message ?? err.message}` });
    }
    if (err instanceof TrunklineError && err.userFacing) {
      const status = err.code === ErrorCode.NotFound ? 404 : 400;
      return reply.code(status).send({ code: err.code, message: err.message });
    }
    if (typeof err.statusCode === "number" && err.statusCode < 500) {
      return reply
        .code(err.statusCode)
        .send({ code: err.code ?? "bad_request", message: err.message });
    }
    app.log.error(err);
    return reply.code(500).send({ code: "internal", message: "internal error" });
  });

  app.get(
    "/healthz",
    {
      schema: {
        security: [],
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get("/openapi.json", { config: { role: "viewer" }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  app.get(
    "/api/v1/repositories",
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
                defaultBranch: { type: "string" },
              },
            },
          },
        },
      },
    },
    async () => {
      const rows = await db
        .selectFrom("repositories")
        .select(["id", "name", "default_branch"])
        .orderBy("name")
        .execute();
      return rows.map((r) => ({ id: r.id, name: r.name, defaultBranch: r.default_branch }));
    },
  );

  app.post<{ Body: { name: string; defaultBranch?: string } }>(
    "/api/v1/repositories",
    {
      config: { role: "admin" },
      schema: {
        body: {
          type: "object",
          required: ["name"],
          additionalProperties: false,
          properties: {
            name: { type: "string", pattern: "^[A-Za-z0-9._-]{1,100}$" },
            defaultBranch: { type: "string", minLength: 1 },
          },
        },
        response: {
          201: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } },
          409: error,
        },
      },
    },
    async (request, reply) => {
      const { name, defaultBranch = "main" } = request.body;
      const exists = await db
        .selectFrom("repositories")
        .select("id")
        .where("name", "=", name)
        .executeTakeFirst();
      if (exists)
        return reply.code(409).send({ code: "conflict", message: `repository '${name}' exists` });
      const id = randomUUID();
      if (deps.dataDir) await createBareRepository(deps.dataDir, name, defaultBranch);
      await db
        .insertInto("repositories")
        .values({ id, name, default_branch: defaultBranch, created_at: Date.now() })
        .execute();
      return reply.code(201).send({ id, name });
    },
  );

  const repositoryId = async (name: string): Promise<string> => {
    const row = await db
      .selectFrom("repositories")
      .select("id")
      .where("name", "=", name)
      .executeTakeFirst();
    return found(row, `repository '${name}'`).id;
  };

  app.get<{ Params: { repo: string } }>(
    "/api/v1/repositories/:repo/secrets",
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
          404: error,
        },
      },
    },
    async (request) => {
      const secrets = await listSecrets(db, {
        kind: "repository",
        repositoryId: await repositoryId(request.params.repo),
      });
      return secrets.map((s) => ({ name: s.name, updatedAt: s.updatedAt }));
    },
  );

  app.put<{ Params: { repo: string; name: string }; Body: { value: string } }>(
    "/api/v1/repositories/:repo/secrets/:name",
    {
      config: { role: "maintainer" },
      schema: {
        body: {
          type: "object",
          required: ["value"],
          additionalProperties: false,
          properties: { value: { type: "string", maxLength: 48 * 1024 } },
        },
        response: { 404: error },
      },
    },
    async (request, reply) => {
      const scope = {
        kind: "repository",
        repositoryId: await repositoryId(request.params.repo),
      } as const;
      await setSecret(db, deps.box, scope, request.params.name, request.body.value);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { repo: string; name: string } }>(
    "/api/v1/repositories/:repo/secrets/:name",
    { config: { role: "maintainer" }, schema: { response: { 404: error } } },
    async (request, reply) => {
      const scope = {
        kind: "repository",
        repositoryId: await repositoryId(request.params.repo),
      } as const;
      if (!(await deleteSecret(db, scope, request.params.name))) {
        return reply
          .code(404)
          .send({ code: "not_found", message: `no secret '${request.params.name}'` });
      }
      return reply.code(204).send();
    },
  );

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

  const run = {
    type: "object",
    properties: {
      id: { type: "string" },
      number: { type: "number" },
      attempt: { type: "number" },
      workflow: { type: "string" },
      event: { type: "string" },
      ref: { type: "string" },
      sha: { type: "string" },
      status: { type: "string" },
      createdAt: { type: "number" },
      startedAt: { type: ["number", "null"] },
      finishedAt: { type: ["number", "null"] },
    },
  } as const;
  const toRun = (r: {
    id: string;
    number: number;
    attempt: number;
    workflow_name: string;
    event: string;
    ref: string;
    sha: string;
    status: string;
    created_at: number;
    started_at: number | null;
    finished_at: number | null;
  }) => ({
    id: r.id,
    number: r.number,
    attempt: r.attempt,
    workflow: r.workflow_name,
    event: r.event,
    ref: r.ref,
    sha: r.sha,
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  });

  app.get<{ Params: { repo: string } }>(
    "/api/v1/repositories/:repo/runs",
    {
      config: { role: "viewer" },
      schema: { response: { 200: { type: "array", items: run }, 404: error } },
    },
    async (request) => {
      const id = await repositoryId(request.params.repo);
      const rows = await db
        .selectFrom("runs")
        .selectAll()
        .where("repository_id", "=", id)
        .orderBy("number", "desc")
        .limit(100)
        .execute();
      return rows.map(toRun);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/runs/:id",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "object",
            properties: {
              ...run.properties,
              jobs: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    id: { type: "string" },
                    key: { type: "string" },
                    name: { type: "string" },
                    status: { type: "string" },
                    reason: { type: ["string", "null"] },
                  },
                },
              },
            },
          },
          404: error,
        },
      },
    },
    async (request, _reply) => {
      const row = found(
        await db
          .selectFrom("runs")
          .selectAll()
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `run '${request.params.id}'`,
      );
      const jobs = await db
        .selectFrom("jobs")
        .select(["id", "key", "name", "status", "reason"])
        .where("run_id", "=", row.id)
        .orderBy("key")
        .execute();
      return { ...toRun(row), jobs };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { from?: number } }>(
    "/api/v1/jobs/:id/logs",
    {
      config: { role: "viewer" },
      schema: {
        querystring: { type: "object", properties: { from: { type: "integer", minimum: 0 } } },
        response: {
          200: {
            type: "object",
            properties: {
              lines: { type: "array", items: { type: "string" } },
              next: { type: "number" },
            },
          },
          404: error,
        },
      },
    },
    async (request, _reply) => {
      const job = found(
        await db
          .selectFrom("jobs")
          .select("id")
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `job '${request.params.id}'`,
      );
      return readLog(db, job.id, request.query.from ?? 0);
    },
  );

  const onPush = deps.onPush ?? (() => undefined);
  if (deps.dataDir) registerGitHttp(app, { db, dataDir: deps.dataDir, onPush });
  registerWebhooks(app, { db, secret: deps.webhookSecret, onPush });
  registerLogStream(app, db);

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
          404: error,
          422: error,
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
      if (!deps.dispatch)
        return reply
          .code(422)
          .send({ code: "cannot_dispatch", message: "this server runs no workflows" });
      const result = await deps.dispatch(request.params.repo, {
        workflow: request.body.workflow,
        ref: request.body.ref ?? repo.default_branch,
        inputs: request.body.inputs ?? {},
      });
      if ("errors" in result)
        return reply.code(422).send({ code: "cannot_dispatch", message: result.errors.join("; ") });
      return reply.code(201).send(result);
    },
  );

  app.post<{ Params: { id: string } }>(
    "/api/v1/runs/:id/cancel",
    { config: { role: "developer" }, schema: { response: { 404: error, 409: error } } },
    async (request, reply) => {
      const run = found(
        await db
          .selectFrom("runs")
          .select(["id", "status"])
          .where("id", "=", request.params.id)
          .executeTakeFirst(),
        `run '${request.params.id}'`,
      );
      if (!deps.cancelRun?.(run.id)) {
        return reply
          .code(409)
          .send({ code: "not_running", message: `run '${run.id}' is not running (${run.status})` });
      }
      return reply.code(202).send({ status: "cancelling" });
    },
  );

  return app;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

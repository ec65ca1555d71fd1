import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { ActionStore } from "../actions/action-store.js";
import { ErrorCode, TrunklineError } from "../common/errors.js";
import type { GithubTokenClaims } from "../runtime/runtime-token.js";
import type { ServerRuntime } from "../runtime/server-runtime.js";
import type { SecretBox } from "../secrets/secret-box.js";
import type { Store } from "../store/open-store.js";
import { registerActionRoutes } from "./api/action-routes.js";
import { registerAgentRoutes } from "./api/agent-routes.js";
import { registerArtifactRoutes } from "./api/artifact-routes.js";
import { registerRepositoryRoutes } from "./api/repository-routes.js";
import { registerReviewRoutes } from "./api/review-routes.js";
import { type RunControl, registerRunControlRoutes } from "./api/run-control-routes.js";
import { registerRunRoutes } from "./api/run-routes.js";
import { registerRuntimeRoutes } from "./api/runtime-routes.js";
import { registerSecretRoutes } from "./api/secret-routes.js";
import { registerServerRoutes } from "./api/server-routes.js";
import { registerTokenRoutes } from "./api/token-routes.js";
import { type RunnerInfo, verifyRunner } from "./auth/runner-tokens.js";
import { allows, type Role, type TokenInfo, verifyToken } from "./auth/tokens.js";
import { type PushListener, registerGitHttp } from "./git/git-http.js";
import { fastifyErrorAnswer, notFoundAnswer, sendAnswer } from "./http-errors.js";
import { registerLogStream } from "./log-stream.js";
import { requestLogSerializers } from "./request-log.js";
import type { JobDispatch } from "./runs/job-dispatch.js";
import { registerWebhooks, type WebhookListener } from "./webhooks/webhook-routes.js";

/** What the API needs. */
export interface AppDependencies {
  readonly store: Store;
  readonly box: SecretBox;
  /** pino options, or false for no request logs (tests). @default true */
  readonly logger?: boolean | Record<string, unknown>;
  /** A pino logger to use instead (shared with the runner); wins over `logger`. */
  readonly loggerInstance?: FastifyBaseLogger;
  /** Where hosted repositories are kept; without it the server hosts none. */
  readonly dataDir?: string;
  /** Hears every push to a hosted repository. */
  readonly onPush?: PushListener;
  /** The secret GitHub-format webhook deliveries are signed with (`TRUNKLINE_WEBHOOK_SECRET`). */
  readonly webhookSecret?: string;
  /** Hears every webhook delivery that may start runs. */
  readonly onWebhook?: WebhookListener;
  /** Starts, cancels and re-runs runs; without it the API only reads. */
  readonly runs?: RunControl;
  /** Where jobs wait for runners; without it, agents cannot connect. */
  readonly jobs?: JobDispatch;
  /** This process's id among the servers sharing the store (`GET /api/v1/servers` marks it). */
  readonly serverId?: string;
  /** The server's store of actions, which agents fetch actions from; without it, they cannot. */
  readonly actions?: ActionStore;
  /** The runtime services jobs reach (artifacts); without it, jobs have none on the server. */
  readonly runtime?: ServerRuntime;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The token's holder; set by the auth hook on every authenticated route. */
    caller?: TokenInfo;
    /** The runner agent calling; set on runner routes. */
    runner?: RunnerInfo;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are public (health, signed webhooks). */
    role?: Role;
    /** The route is for runner agents: it needs a runner token instead of an API token. */
    runner?: true;
  }
}

/**
 * The REST API: every route needs a bearer token of a high enough role, except `/healthz`
 * (and, soon, signed webhooks). Errors are JSON `{ code, message }` with stable codes; bodies
 * are validated at the edge, so a malformed one is a 400 naming the field, never a 500.
 * Secret values go in and never come out.
 */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    // The request serializer redacts credentials from URLs, whichever logger is used.
    ...(deps.loggerInstance
      ? { loggerInstance: deps.loggerInstance.child({}, { serializers: requestLogSerializers }) }
      : { logger: loggerOptions(deps.logger ?? true) }),
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
    if (request.routeOptions.config.runner) {
      const token = bearer(request);
      const runner = token ? await verifyRunner(db, token) : undefined;
      if (!runner) {
        await reply.code(401).send({
          code: "unauthorized",
          message: "a valid runner token is required (register the agent first)",
        });
        return reply;
      }
      request.runner = runner;
      return;
    }
    const role = request.routeOptions.config.role;
    if (!role) return;
    const token = bearer(request);
    const job =
      token && deps.runtime ? await deps.runtime.tokens.verifyGithubToken(token) : undefined;
    if (job) return jobAccess(request, reply, job, role);
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

  app.setNotFoundHandler((request, reply) => sendAnswer(reply, notFoundAnswer(request)));

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const where = `${err.validationContext ?? "body"}${first?.instancePath ? first.instancePath.replace(/\//g, ".") : ""}`;
      return reply
        .code(400)
        .send({ code: "invalid_request", message: `${where}: ${first?.message ?? err.message}` });
    }
    if (err instanceof TrunklineError && err.userFacing) {
      const status =
        err.code === ErrorCode.NotFound ? 404 : err.code === ErrorCode.Forbidden ? 403 : 400;
      return reply.code(status).send({ code: err.code, message: err.message });
    }
    if (typeof err.statusCode === "number" && err.statusCode < 500) {
      return sendAnswer(reply, fastifyErrorAnswer(err, request));
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

  registerRepositoryRoutes(app, { db, ...(deps.dataDir ? { dataDir: deps.dataDir } : {}) });
  registerSecretRoutes(app, { db, box: deps.box });
  registerTokenRoutes(app, { db });
  registerRunRoutes(app, { db });
  registerRunControlRoutes(app, { db, ...(deps.runs ? { runs: deps.runs } : {}) });
  registerLogStream(app, db);
  registerAgentRoutes(app, { db, ...(deps.jobs ? { jobs: deps.jobs } : {}) });
  registerServerRoutes(app, { db, ...(deps.serverId ? { serverId: deps.serverId } : {}) });
  if (deps.dataDir)
    registerGitHttp(app, {
      db,
      dataDir: deps.dataDir,
      onPush: deps.onPush ?? (() => undefined),
      ...(deps.runtime ? { jobTokens: deps.runtime.tokens } : {}),
    });
  if (deps.dataDir && deps.actions) registerActionRoutes(app, { db, store: deps.actions });
  if (deps.dataDir) registerReviewRoutes(app, { db, dataDir: deps.dataDir });
  if (deps.runtime) {
    registerRuntimeRoutes(app, deps.runtime);
    registerArtifactRoutes(app, { db, runtime: deps.runtime });
  }
  registerWebhooks(app, {
    db,
    secret: deps.webhookSecret,
    onWebhook: deps.onWebhook ?? (() => undefined),
  });

  return app;
}

function loggerOptions(logger: boolean | Record<string, unknown>): false | Record<string, unknown> {
  if (logger === false) return false;
  const options = logger === true ? {} : logger;
  const serializers = (options.serializers ?? {}) as Record<string, unknown>;
  return { ...options, serializers: { ...serializers, ...requestLogSerializers } };
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

/** The routes under `/api/v1/repositories/:repo` a job's `GITHUB_TOKEN` reaches. */
const JOB_ROUTES: ReadonlySet<string> = new Set(["", "/runs", "/runs/:number", "/dispatch"]);

/**
 * A job's `GITHUB_TOKEN` on the API: its own repository's routes only
 * (`/api/v1/repositories/<its repository>/...`), reading with `actions: read` or `write`,
 * starting and cancelling runs with `actions: write`; nothing beyond the developer role.
 */
async function jobAccess(
  request: FastifyRequest,
  reply: FastifyReply,
  job: GithubTokenClaims,
  needed: Role,
): Promise<FastifyReply | undefined> {
  const repo = (request.params as { repo?: string } | undefined)?.repo;
  const refuse = (message: string) => reply.code(403).send({ code: "forbidden", message });
  // Its runs, and starting them: not the names of its secrets, nor its settings.
  const route = request.routeOptions.url ?? "";
  if (!JOB_ROUTES.has(route.replace("/api/v1/repositories/:repo", ""))) {
    return refuse(
      `a job's GITHUB_TOKEN reaches only its repository's runs (/api/v1/repositories/${job.repository}/runs...)`,
    );
  }
  if (repo !== job.repository) {
    return refuse(
      `a job's GITHUB_TOKEN reaches only its repository's routes (/api/v1/repositories/${job.repository}/...)`,
    );
  }
  const actions = job.actions ?? "none";
  const role: Role | undefined =
    actions === "write" ? "developer" : actions === "read" ? "viewer" : undefined;
  if (!role || !allows(role, needed)) {
    return refuse(
      `this job's GITHUB_TOKEN has actions: ${actions}; this needs ${needed === "viewer" ? "actions: read" : needed === "developer" ? "actions: write" : `the ${needed} role, which no job token has`}`,
    );
  }
  request.caller = { id: `job:${job.runId}`, name: `GITHUB_TOKEN of ${job.job}`, role };
  return undefined;
}

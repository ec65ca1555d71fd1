import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { NotFoundError } from "../../common/errors.js";
import { isRole } from "../../common/roles.js";
import type { Database } from "../../store/database.js";
import { pendingDeployments, reviewDeployments } from "../runs/pending-deployments.js";
import { errorSchema } from "./schemas.js";

const environmentSchema = {
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" } },
} as const;

/**
 * Reviews of deployments waiting for approval, in GitHub's shape: `GET` lists a run's
 * deployments that wait (with whether the token may review each), `POST` approves or
 * rejects some (`environment_ids`, which are environment names here, or `environments`;
 * `state`; `comment`). Who may is the environment's business (its reviewers, self-review);
 * the route needs a token of any role.
 */
export function registerReviewRoutes(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; dataDir: string },
): void {
  const { db, dataDir } = deps;
  const caller = (request: { caller?: { name: string; role: string } }) =>
    request.caller ?? { name: "", role: "" };

  app.get<{ Params: { id: string } }>(
    "/api/v1/runs/:id/pending_deployments",
    {
      config: { role: "viewer" },
      schema: {
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                environment: environmentSchema,
                wait_timer: { type: "integer" },
                reviewers: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { type: { type: "string" }, reviewer: { type: "string" } },
                  },
                },
                required_approvals: { type: "integer" },
                current_user_can_approve: { type: "boolean" },
              },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const pending = await pendingDeployments(db, dataDir, request.params.id, caller(request));
      if (!pending) throw new NotFoundError(`no run '${request.params.id}'`);
      return pending.map((p) => ({
        environment: { id: p.environment.name, name: p.environment.name },
        wait_timer: p.environment.waitTimer,
        reviewers: p.environment.reviewers.map((r) => ({
          type: isRole(r) ? "Role" : "User",
          reviewer: r,
        })),
        required_approvals: Math.max(1, p.environment.requiredApprovals),
        current_user_can_approve: p.canReview,
      }));
    },
  );

  app.post<{
    Params: { id: string };
    Body: {
      environment_ids?: (string | number)[];
      environments?: string[];
      state: "approved" | "rejected";
      comment?: string;
    };
  }>(
    "/api/v1/runs/:id/pending_deployments",
    {
      config: { role: "viewer" },
      schema: {
        body: {
          type: "object",
          required: ["state"],
          additionalProperties: false,
          properties: {
            environment_ids: {
              type: "array",
              items: { anyOf: [{ type: "string", minLength: 1 }, { type: "integer" }] },
              description:
                "the environments to review, by name (GitHub's field; ids are names here)",
            },
            environments: { type: "array", items: { type: "string", minLength: 1 } },
            state: { type: "string", enum: ["approved", "rejected"] },
            comment: { type: "string", maxLength: 65_536 },
          },
        },
        response: {
          200: {
            type: "array",
            items: {
              type: "object",
              properties: {
                environment: environmentSchema,
                state: { type: "string" },
                user: { type: "string" },
                comment: { type: "string" },
                at: { type: "integer" },
              },
            },
          },
          400: errorSchema,
          403: errorSchema,
          404: errorSchema,
          409: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const names = [
        ...(request.body.environment_ids ?? []).map(String),
        ...(request.body.environments ?? []),
      ];
      if (names.length === 0)
        return reply.code(400).send({
          code: "invalid_request",
          message: "name the environments to review (environment_ids or environments)",
        });
      const outcome = await reviewDeployments(db, dataDir, request.params.id, caller(request), {
        environments: names,
        state: request.body.state,
        comment: request.body.comment ?? "",
      });
      if ("status" in outcome)
        return reply.code(outcome.status).send({ code: outcome.code, message: outcome.message });
      return outcome.recorded.map((r) => ({
        environment: { id: r.environment, name: r.environment },
        state: r.state,
        user: r.actor,
        comment: r.comment,
        at: r.at,
      }));
    },
  );
}

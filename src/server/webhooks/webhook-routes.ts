import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import { appendEvents } from "../../store/event-log.js";
import {
  readWebhook,
  type WebhookIntent,
  type WebhookRepository,
  webhookRepository,
} from "../../triggers/webhook-event.js";
import type { WebhookRepositoryRow } from "../runs/webhook-runs.js";
import { SIGNATURE_HEADER, verifySignature } from "./signature.js";

/** What the webhook endpoint needs. */
export interface WebhookOptions {
  readonly db: Kysely<Database>;
  /** The shared secret deliveries are signed with; without one, the endpoint refuses everything. */
  readonly secret: string | undefined;
  /** Starts what a delivery asks for; returns at once, the work goes on in the background. */
  readonly onWebhook: WebhookListener;
}

/**
 * `POST /webhooks/github`: GitHub-format deliveries, signed with HMAC-SHA256 over the raw
 * body (`X-Hub-Signature-256`); unsigned or wrongly signed ones get 401. A delivery id seen
 * before (`X-GitHub-Delivery`) is answered 200 and does nothing more. A valid delivery is
 * recorded in the event log and answered 202 at once; what it triggers goes on afterwards. A
 * delivery for no repository here, or of an event that starts nothing, is answered 200 with
 * the reason. Repositories are found by `owner/name` (mirrored ones) or by name.
 */
export function registerWebhooks(app: FastifyInstance, options: WebhookOptions): void {
  app.register(async (scope) => {
    // The signature is over the exact bytes sent: keep them.
    scope.addContentTypeParser(
      "application/json",
      { parseAs: "buffer", bodyLimit: 25 * 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
    scope.post("/webhooks/github", { schema: { hide: true } }, async (request, reply) => {
      const raw = request.body as Buffer;
      const signature = request.headers[SIGNATURE_HEADER];
      if (
        !options.secret ||
        !verifySignature(options.secret, raw, typeof signature === "string" ? signature : undefined)
      ) {
        return reply
          .code(401)
          .send({ code: "bad_signature", message: "missing or wrong X-Hub-Signature-256" });
      }
      const delivery = String(request.headers["x-github-delivery"] ?? "");
      const event = String(request.headers["x-github-event"] ?? "");
      if (!delivery || !event) {
        return reply.code(400).send({
          code: "invalid_request",
          message: "X-GitHub-Delivery and X-GitHub-Event are required",
        });
      }
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      } catch {
        return reply.code(400).send({ code: "invalid_request", message: "body: not JSON" });
      }
      const named = webhookRepository(payload);
      const repository = named.fullName ?? named.name ?? "";
      const seen = await options.db
        .selectFrom("webhook_deliveries")
        .select("delivery_id")
        .where("delivery_id", "=", delivery)
        .executeTakeFirst();
      if (seen) return reply.code(200).send({ status: "duplicate", delivery });
      try {
        await options.db
          .insertInto("webhook_deliveries")
          .values({
            delivery_id: delivery,
            repository_id: repository,
            event,
            received_at: Date.now(),
          })
          .execute();
      } catch {
        return reply.code(200).send({ status: "duplicate", delivery });
      }
      await appendEvents(options.db, [
        { type: "webhook.received", at: Date.now(), data: { delivery, event, repository } },
      ]);
      const repo = await findRepository(options.db, named);
      if (!repo)
        return reply.code(200).send({
          status: "ignored",
          delivery,
          reason: `no repository here is '${repository}'`,
        });
      const intent = readWebhook(event, payload);
      if (intent.kind === "ignored")
        return reply.code(200).send({ status: "ignored", delivery, reason: intent.reason });
      options.onWebhook(repo, intent, payload);
      return reply.code(202).send({ status: "accepted", delivery });
    });
  });
}

/** Hears a delivery that may start runs. */
export type WebhookListener = (
  repository: WebhookRepositoryRow,
  intent: WebhookIntent,
  payload: Readonly<Record<string, unknown>>,
) => void;

async function findRepository(
  db: Kysely<Database>,
  named: WebhookRepository,
): Promise<WebhookRepositoryRow | undefined> {
  const columns = ["name", "default_branch", "remote_url"] as const;
  const row =
    (named.fullName
      ? await db
          .selectFrom("repositories")
          .select(columns)
          .where("remote_name", "=", named.fullName)
          .executeTakeFirst()
      : undefined) ??
    (named.name
      ? await db
          .selectFrom("repositories")
          .select(columns)
          .where("name", "=", named.name)
          .executeTakeFirst()
      : undefined);
  if (!row) return undefined;
  return {
    name: row.name,
    defaultBranch: row.default_branch,
    ...(row.remote_url ? { remoteUrl: row.remote_url } : {}),
  };
}

import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import { appendEvents } from "../../store/event-log.js";
import type { PushListener } from "../git/git-http.js";
import { SIGNATURE_HEADER, verifySignature } from "./signature.js";

/** What the webhook endpoint needs. */
export interface WebhookOptions {
  readonly db: Kysely<Database>;
  /** The shared secret deliveries are signed with; without one, the endpoint refuses everything. */
  readonly secret: string | undefined;
  /** Where a push delivery for a hosted repository goes (the same path as a git push). */
  readonly onPush: PushListener;
}

/**
 * `POST /webhooks/github`: GitHub-format deliveries, signed with HMAC-SHA256 over the raw
 * body (`X-Hub-Signature-256`); unsigned or wrongly signed ones get 401. A delivery id seen
 * before (`X-GitHub-Delivery`) is answered 200 and does nothing more. A valid delivery is
 * recorded in the event log and answered 202 at once; what it triggers goes on afterwards.
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
      const repository = (payload.repository as { name?: string } | undefined)?.name ?? "";
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
      if (
        event === "push" &&
        typeof payload.ref === "string" &&
        typeof payload.after === "string"
      ) {
        const hosted = await options.db
          .selectFrom("repositories")
          .select("id")
          .where("name", "=", repository)
          .executeTakeFirst();
        if (hosted) {
          const before = typeof payload.before === "string" ? payload.before : "0".repeat(40);
          options.onPush(repository, [{ ref: payload.ref, before, after: payload.after }], {
            id: "webhook",
            name: "webhook",
            role: "developer",
          });
        }
      }
      return reply.code(202).send({ status: "accepted", delivery });
    });
  });
}

import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { recordDomainEvents } from "../events/domain-events.js";
import type { Review } from "../planner/approval-policy.js";
import type { Database } from "../store/database.js";

/** A review to record: who decided what on one environment of one attempt of a run. */
export interface ReviewRecord extends Review {
  readonly runId: string;
  readonly attempt: number;
}

/**
 * Records reviews (one per environment) with their `approval.given` or `approval.rejected`
 * events, who and when, in one transaction: the event log is the audit trail of approvals.
 * Records nothing and answers false when the run has gone on to another attempt meanwhile
 * (a review is of what its reviewer saw).
 */
export async function recordReviews(
  db: Kysely<Database>,
  reviews: readonly ReviewRecord[],
): Promise<boolean> {
  const [first] = reviews;
  if (!first) return true;
  return db.transaction().execute(async (tx) => {
    const run = await tx
      .selectFrom("runs")
      .select("attempt")
      .where("id", "=", first.runId)
      .executeTakeFirst();
    if (!run || Number(run.attempt) !== first.attempt) return false;
    await tx
      .insertInto("approvals")
      .values(
        reviews.map((r) => ({
          id: randomUUID(),
          run_id: r.runId,
          attempt: r.attempt,
          environment: r.environment,
          state: r.state,
          actor: r.actor,
          comment: r.comment,
          at: r.at,
        })),
      )
      .execute();
    await recordDomainEvents(
      tx,
      reviews.map((r) => ({
        type: r.state === "approved" ? "approval.given" : "approval.rejected",
        runId: r.runId,
        attempt: r.attempt,
        environment: r.environment,
        comment: r.comment,
        actor: { kind: "user", name: r.actor },
        at: r.at,
      })),
    );
    return true;
  });
}

/** The reviews of one attempt of a run, oldest first. */
export async function reviewsOf(
  db: Kysely<Database>,
  runId: string,
  attempt: number,
): Promise<Review[]> {
  const rows = await db
    .selectFrom("approvals")
    .select(["environment", "state", "actor", "comment", "at"])
    .where("run_id", "=", runId)
    .where("attempt", "=", attempt)
    .orderBy("at")
    .execute();
  return rows.map((r) => ({
    environment: r.environment,
    state: r.state === "rejected" ? "rejected" : "approved",
    actor: r.actor,
    comment: r.comment,
    at: Number(r.at),
  }));
}

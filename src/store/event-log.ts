import type { Kysely } from "kysely";
import type { Database } from "./database.js";

/** An event as stored: its place in the log, and what happened. */
export interface StoredEvent<T = unknown> {
  readonly id: number;
  readonly runId: string | null;
  readonly type: string;
  readonly at: number;
  readonly data: T;
}

/**
 * Appends events to the log in one transaction, in order, and returns their ids. The log is
 * append-only: the UI timeline, metrics, alerts and the audit trail all read it.
 */
export async function appendEvents(
  db: Kysely<Database>,
  events: readonly { runId?: string; type: string; at: number; data: unknown }[],
): Promise<number[]> {
  if (events.length === 0) return [];
  const [only] = events;
  if (events.length === 1 && only) {
    // One row is atomic by itself: no transaction (on Postgres, two round trips fewer).
    const row = await db
      .insertInto("events")
      .values({
        run_id: only.runId ?? null,
        type: only.type,
        at: only.at,
        data: JSON.stringify(only.data),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return [Number(row.id)];
  }
  return db.transaction().execute(async (tx) => {
    const ids: number[] = [];
    for (const e of events) {
      const row = await tx
        .insertInto("events")
        .values({ run_id: e.runId ?? null, type: e.type, at: e.at, data: JSON.stringify(e.data) })
        .returning("id")
        .executeTakeFirstOrThrow();
      ids.push(Number(row.id));
    }
    return ids;
  });
}

/** Events after `after` (exclusive), oldest first, optionally of one run. */
export async function readEvents(
  db: Kysely<Database>,
  options: { runId?: string; after?: number; limit?: number } = {},
): Promise<StoredEvent[]> {
  let query = db
    .selectFrom("events")
    .selectAll()
    .where("id", ">", options.after ?? 0);
  if (options.runId !== undefined) query = query.where("run_id", "=", options.runId);
  const rows = await query
    .orderBy("id")
    .limit(options.limit ?? 1000)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    runId: r.run_id,
    type: r.type,
    at: Number(r.at),
    data: JSON.parse(r.data) as unknown,
  }));
}

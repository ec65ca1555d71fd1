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

/** Rows per insert statement (SQLite allows 32766 parameters; each row takes 4). */
const ROWS_PER_STATEMENT = 500;

/**
 * Appends events to the log, all or none, in order, and returns their ids. The log is
 * append-only: the UI timeline, metrics, alerts and the audit trail all read it.
 */
export async function appendEvents(
  db: Kysely<Database>,
  events: readonly { runId?: string; type: string; at: number; data: unknown }[],
): Promise<number[]> {
  if (events.length === 0) return [];
  const insert = async (into: Kysely<Database>, some: typeof events) => {
    const rows = await into
      .insertInto("events")
      .values(
        some.map((e) => ({
          run_id: e.runId ?? null,
          type: e.type,
          at: e.at,
          data: JSON.stringify(e.data),
        })),
      )
      .returning("id")
      .execute();
    // Ids grow in the order of the rows; sorting makes that explicit.
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  };
  // One statement is atomic by itself: no transaction (on Postgres, two round trips fewer).
  if (events.length <= ROWS_PER_STATEMENT) return insert(db, events);
  return db.transaction().execute(async (tx) => {
    const ids: number[] = [];
    for (let i = 0; i < events.length; i += ROWS_PER_STATEMENT)
      ids.push(...(await insert(tx, events.slice(i, i + ROWS_PER_STATEMENT))));
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

/**
 * When each of a run's wait timers runs out, and when each wait for reviews ends, by job
 * key, as the run's current life started them: `job.waiting` events with an `until` or a
 * `deadline` after the run's last `run.started` (an attempt begins with one, and so does
 * each resume, which repeats the waits it carries on).
 */
export async function waitTimersOf(
  db: Kysely<Database>,
  runId: string,
): Promise<{ timers: Map<string, number>; deadlines: Map<string, number> }> {
  const timers = new Map<string, number>();
  const deadlines = new Map<string, number>();
  for (const data of await eventsSinceStart(db, runId, "job.waiting")) {
    const event = data as { job?: string; until?: number; deadline?: number };
    if (typeof event.job !== "string") continue;
    if (typeof event.until === "number") timers.set(event.job, event.until);
    if (typeof event.deadline === "number") deadlines.set(event.job, event.deadline);
  }
  return { timers, deadlines };
}

/**
 * The data of a run's events of one type since its last `run.started` (the current life of
 * its current attempt: an attempt begins with one, and so does each resume), oldest first.
 */
export async function eventsSinceStart(
  db: Kysely<Database>,
  runId: string,
  type: string,
): Promise<unknown[]> {
  const started = await db
    .selectFrom("events")
    .select((eb) => eb.fn.max("id").as("id"))
    .where("run_id", "=", runId)
    .where("type", "=", "run.started")
    .executeTakeFirst();
  const rows = await db
    .selectFrom("events")
    .select("data")
    .where("run_id", "=", runId)
    .where("type", "=", type)
    .where("id", ">", Number(started?.id ?? 0))
    .orderBy("id")
    .execute();
  return rows.map((r) => JSON.parse(r.data) as unknown);
}

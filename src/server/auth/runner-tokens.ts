import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { InputError } from "../../common/errors.js";
import { normalise } from "../../queue/job-queue.js";
import type { Database } from "../../store/database.js";

/** A registered runner as the server knows it: never its token. */
export interface RunnerInfo {
  readonly id: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly capacity: number;
}

const PREFIX = "tlr_";
/** How often a runner's `last_seen_at` is written at most (per server process). */
export const SEEN_EVERY_MS = 10_000;
const seenWritten = new Map<string, number>();

function hash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Registers a runner; its token is returned once and stored hashed. */
export async function registerRunner(
  db: Kysely<Database>,
  runner: { name: string; labels: readonly string[]; capacity: number },
  now = Date.now(),
): Promise<{ token: string; info: RunnerInfo }> {
  const labels = normalise(runner.labels);
  if (labels.length === 0) throw new InputError("a runner needs at least one label");
  const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
  const info: RunnerInfo = {
    id: randomUUID(),
    name: runner.name,
    labels,
    capacity: runner.capacity,
  };
  await db
    .insertInto("runners")
    .values({
      id: info.id,
      name: info.name,
      labels: JSON.stringify(labels),
      capacity: info.capacity,
      token_hash: hash(token),
      created_at: now,
      last_seen_at: now,
    })
    .execute();
  return { token, info };
}

/** The runner a token belongs to, or undefined; records (every few seconds) that it was seen. */
export async function verifyRunner(
  db: Kysely<Database>,
  token: string,
  now = Date.now(),
): Promise<RunnerInfo | undefined> {
  if (!token.startsWith(PREFIX)) return undefined;
  const row = await db
    .selectFrom("runners")
    .select(["id", "name", "labels", "capacity"])
    .where("token_hash", "=", hash(token))
    .executeTakeFirst();
  if (!row) return undefined;
  const written = seenWritten.get(row.id);
  if (written === undefined || now - written >= SEEN_EVERY_MS) {
    seenWritten.set(row.id, now);
    await db.updateTable("runners").set({ last_seen_at: now }).where("id", "=", row.id).execute();
  }
  return {
    id: row.id,
    name: row.name,
    labels: JSON.parse(row.labels) as string[],
    capacity: Number(row.capacity),
  };
}

/**
 * Removes a runner: its token stops at once (the next request that carries it is refused).
 * The leases it held are the caller's to end. Resolves to false when there is no such runner.
 */
export async function removeRunner(db: Kysely<Database>, id: string): Promise<boolean> {
  const removed = await db.deleteFrom("runners").where("id", "=", id).executeTakeFirst();
  seenWritten.delete(id);
  return Number(removed.numDeletedRows) === 1;
}

/** Whether a runner is still registered (it may have been removed since its request began). */
export async function runnerRegistered(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom("runners").select("id").where("id", "=", id).executeTakeFirst();
  return row !== undefined;
}

import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/**
 * The job queue and the runners that take from it: a row per job handed to runners, held
 * by a lease whose fencing token grows with every grant, so a runner that lost its lease
 * can be told apart from the one that holds it now.
 */
export function queueSchema(dialect: StoreDialect) {
  const time = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("runners")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("capacity", "integer", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", time, (c) => c.notNull())
        .addColumn("last_seen_at", time, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("queue")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
        .addColumn("job_key", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("runner_id", "text")
        .addColumn("lease_token", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("lease_expires_at", time)
        .addColumn("enqueued_at", time, (c) => c.notNull())
        .addColumn("leased_at", time)
        .addColumn("finished_at", time)
        .addColumn("result", "text")
        .execute();
      await db.schema
        .createIndex("queue_state")
        .on("queue")
        .columns(["state", "enqueued_at"])
        .execute();
    },
  };
}

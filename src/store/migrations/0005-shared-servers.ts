import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/**
 * What several server processes on one database need to share: the server processes
 * themselves (each renews its row while it lives), which of them runs each run, event
 * batches an agent handed to a process other than the run's (kept for the run's own to
 * apply), and cancels asked of a process other than the one running the run or job.
 */
export function sharedServers(dialect: StoreDialect) {
  const time = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("servers")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("host", "text", (c) => c.notNull())
        .addColumn("pid", "integer", (c) => c.notNull())
        .addColumn("started_at", time, (c) => c.notNull())
        .addColumn("seen_at", time, (c) => c.notNull())
        .execute();
      await db.schema.alterTable("runs").addColumn("owner", "text").execute();
      await db.schema
        .alterTable("runs")
        .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable("queue")
        .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("queue_batches")
        .addColumn("entry_id", "text", (c) =>
          c.notNull().references("queue.id").onDelete("cascade"),
        )
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("events", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("queue_batches_pk", ["entry_id", "seq"])
        .execute();
    },
  };
}

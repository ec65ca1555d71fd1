import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/**
 * Repositories mirrored from elsewhere (webhooks), the trigger of each run (so a re-run
 * replays the same event), and the schedule minutes already fired (so several server
 * processes, or a restart within the minute, fire a cron at most once).
 */
export function remotesRerunsSchedules(dialect: StoreDialect) {
  const time = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("repositories").addColumn("remote_url", "text").execute();
      await db.schema.alterTable("repositories").addColumn("remote_name", "text").execute();
      await db.schema
        .alterTable("runs")
        .addColumn("trigger", "text", (c) => c.notNull().defaultTo("{}"))
        .execute();
      await db.schema
        .createTable("schedule_fires")
        .addColumn("repository_id", "text", (c) =>
          c.notNull().references("repositories.id").onDelete("cascade"),
        )
        .addColumn("workflow_file", "text", (c) => c.notNull())
        .addColumn("cron", "text", (c) => c.notNull())
        .addColumn("minute", time, (c) => c.notNull())
        .addPrimaryKeyConstraint("schedule_fires_pk", [
          "repository_id",
          "workflow_file",
          "cron",
          "minute",
        ])
        .execute();
    },
  };
}

import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/** The first schema: every table of {@link Database}, for SQLite and Postgres alike. */
export function initialSchema(dialect: StoreDialect) {
  // Times are epoch milliseconds: bigint on Postgres (read back as numbers), integer on SQLite.
  const time = dialect === "postgres" ? "bigint" : "integer";
  const serial = dialect === "postgres" ? "bigserial" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("repositories")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("default_branch", "text", (c) => c.notNull())
        .addColumn("created_at", time, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("repository_id", "text", (c) =>
          c.notNull().references("repositories.id").onDelete("cascade"),
        )
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("workflow_file", "text", (c) => c.notNull())
        .addColumn("workflow_name", "text", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("ref", "text", (c) => c.notNull())
        .addColumn("sha", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", time, (c) => c.notNull())
        .addColumn("started_at", time)
        .addColumn("finished_at", time)
        .addColumn("payload", "text", (c) => c.notNull())
        .addUniqueConstraint("runs_repository_number", ["repository_id", "number"])
        .execute();
      await db.schema
        .createTable("jobs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("started_at", time)
        .addColumn("finished_at", time)
        .addColumn("outputs", "text", (c) => c.notNull())
        .addUniqueConstraint("jobs_run_attempt_key", ["run_id", "attempt", "key"])
        .execute();
      await db.schema
        .createTable("steps")
        .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("stage", "text", (c) => c.notNull())
        .addColumn("outcome", "text")
        .addColumn("conclusion", "text")
        .addColumn("started_at", time, (c) => c.notNull())
        .addColumn("finished_at", time)
        .addPrimaryKeyConstraint("steps_pk", ["job_id", "number"])
        .execute();
      await db.schema
        .createTable("log_chunks")
        .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("offset", "integer", (c) => c.notNull())
        .addColumn("lines", "text", (c) => c.notNull())
        .addColumn("line_count", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_chunks_pk", ["job_id", "offset"])
        .execute();
      await db.schema
        .createTable("annotations")
        .addColumn("id", serial, (c) =>
          dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
        .addColumn("level", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("title", "text")
        .addColumn("file", "text")
        .addColumn("line", "integer")
        .addColumn("column", "integer")
        .execute();
      await db.schema
        .createTable("artifacts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("size", time, (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("created_at", time, (c) => c.notNull())
        .addUniqueConstraint("artifacts_run_name", ["run_id", "name"])
        .execute();
      await db.schema
        .createTable("environments")
        .addColumn("repository_id", "text", (c) =>
          c.notNull().references("repositories.id").onDelete("cascade"),
        )
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("rules", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("environments_pk", ["repository_id", "name"])
        .execute();
      await db.schema
        .createTable("secrets")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("scope", "text", (c) => c.notNull())
        .addColumn("repository_id", "text", (c) => c.notNull())
        .addColumn("environment", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("ciphertext", "text", (c) => c.notNull())
        .addColumn("created_at", time, (c) => c.notNull())
        .addColumn("updated_at", time, (c) => c.notNull())
        .addUniqueConstraint("secrets_scope_name", [
          "scope",
          "repository_id",
          "environment",
          "name",
        ])
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", time, (c) => c.notNull())
        .addColumn("last_used_at", time)
        .execute();
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("delivery_id", "text", (c) => c.primaryKey())
        .addColumn("repository_id", "text", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("received_at", time, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("events")
        .addColumn("id", serial, (c) =>
          dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("run_id", "text")
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("at", time, (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_run").on("events").columns(["run_id", "id"]).execute();
      await db.schema.createIndex("jobs_run").on("jobs").column("run_id").execute();
    },
  };
}

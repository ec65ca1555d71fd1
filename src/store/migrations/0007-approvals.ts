import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/**
 * Reviews of deployments waiting for approval: one row per reviewer's decision on one
 * environment of one attempt of a run (written by `deploy/approvals.ts` only).
 */
export function approvals(dialect: StoreDialect) {
  const time = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("approvals")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("run_id", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("environment", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("comment", "text", (c) => c.notNull())
        .addColumn("at", time, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("approvals_by_run")
        .on("approvals")
        .columns(["run_id", "attempt"])
        .execute();
    },
  };
}

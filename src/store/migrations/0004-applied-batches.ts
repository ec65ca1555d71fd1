import type { Kysely } from "kysely";

/**
 * The last event batch applied for each queued job, so a batch an agent sends again after a
 * server restart (its answer was lost in the crash) is applied once.
 */
export function appliedBatches() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable("queue")
        .addColumn("applied_seq", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}

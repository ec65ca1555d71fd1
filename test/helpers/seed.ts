import type { Kysely } from "kysely";
import type { Database } from "../../src/store/database.js";

/** Inserts a repository, a run and (optionally) a job with plain defaults; tests override what they check. */
export async function seedRun(
  db: Kysely<Database>,
  ids: { repository?: string; run: string; job?: string },
  overrides: { runStatus?: string; jobStatus?: string; number?: number } = {},
): Promise<void> {
  const repository = ids.repository ?? "r1";
  const exists = await db
    .selectFrom("repositories")
    .select("id")
    .where("id", "=", repository)
    .executeTakeFirst();
  if (!exists) {
    await db
      .insertInto("repositories")
      .values({ id: repository, name: "app", default_branch: "main", created_at: 1 })
      .execute();
  }
  await db
    .insertInto("runs")
    .values({
      id: ids.run,
      repository_id: repository,
      number: overrides.number ?? 1,
      attempt: 1,
      workflow_file: "ci.yml",
      workflow_name: "CI",
      event: "push",
      ref: "refs/heads/main",
      sha: "c".repeat(40),
      status: overrides.runStatus ?? "in_progress",
      created_at: 1,
      started_at: 1,
      finished_at: null,
      payload: "{}",
    })
    .execute();
  if (ids.job) {
    await db
      .insertInto("jobs")
      .values({
        id: ids.job,
        run_id: ids.run,
        attempt: 1,
        key: "ci.yml / build",
        name: "build",
        status: overrides.jobStatus ?? "in_progress",
        reason: null,
        started_at: 1,
        finished_at: null,
        outputs: "{}",
      })
      .execute();
  }
}

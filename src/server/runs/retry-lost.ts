import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import type { RerunResult } from "./start-result.js";

/** The reason of a job whose runner stopped answering (its lease expired, or it was lost). */
export const RUNNER_LOST = "runner_lost";

/**
 * Whether a finished run attempt should start again by itself: it failed, every job that
 * failed did so because its runner was lost (an infrastructure failure, never a script's:
 * one failed step anywhere and the attempt stands), and fewer than `retries` attempts were
 * retries already. The new attempt re-runs the failed jobs and those that needed them,
 * keeping the others' results, as `trunkline runs rerun --failed` does.
 */
export function shouldRetryLost(
  run: { readonly status: string; readonly attempt: number },
  jobs: readonly { readonly status: string; readonly reason: string | null }[],
  retries: number,
): boolean {
  if (run.status !== "failure" || run.attempt > retries) return false;
  const failed = jobs.filter((j) => j.status === "failure");
  return failed.length > 0 && failed.every((j) => j.reason === RUNNER_LOST);
}

/**
 * Starts a run's next attempt through `rerun` when its only failures were lost runners and
 * retries are left; resolves to what was retried (the attempt that failed, and the re-run's
 * result), or undefined.
 */
export async function retryIfLost(
  db: Kysely<Database>,
  runId: string,
  retries: number,
  rerun: (failedOnly: boolean) => Promise<RerunResult>,
): Promise<({ attempt: number } & Record<string, unknown>) | undefined> {
  if (retries === 0) return undefined;
  const run = await db
    .selectFrom("runs")
    .select(["status", "attempt"])
    .where("id", "=", runId)
    .executeTakeFirst();
  if (!run) return undefined;
  const jobs = await db
    .selectFrom("jobs")
    .select(["status", "reason"])
    .where("run_id", "=", runId)
    .where("attempt", "=", Number(run.attempt))
    .execute();
  if (!shouldRetryLost({ status: run.status, attempt: Number(run.attempt) }, jobs, retries))
    return undefined;
  const result = await rerun(true);
  return { attempt: Number(run.attempt), ...result };
}

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

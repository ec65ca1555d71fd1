import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { reuseForFailedRerun, topJobIdOfKey } from "../../engine/rerun-selection.js";
import { type Database, UNFINISHED_STATUSES } from "../../store/database.js";
import type { TriggerEvent } from "../../triggers/event.js";
import { configAt, workflowsAt } from "./git-source.js";
import type { RunService } from "./run-service.js";
import type { RerunResult } from "./start-result.js";

/**
 * Runs a finished run again as its next attempt: every job, or (`failedOnly`) the jobs that
 * failed or were cancelled and those that need them, the others keeping their results
 * (their rows copied into the new attempt, marked as reused). The workflow and config are
 * read again at the run's commit, as on GitHub.
 */
export async function rerunRun(
  service: RunService,
  db: Kysely<Database>,
  runId: string,
  failedOnly: boolean,
): Promise<RerunResult> {
  const run = await db
    .selectFrom("runs")
    .innerJoin("repositories", "repositories.id", "runs.repository_id")
    .select([
      "runs.id",
      "runs.number",
      "runs.attempt",
      "runs.status",
      "runs.workflow_file",
      "runs.sha",
      "runs.trigger",
      "repositories.id as repositoryId",
      "repositories.name as repository",
    ])
    .where("runs.id", "=", runId)
    .executeTakeFirst();
  if (!run) return { error: "not_found", message: `run '${runId}'` };
  if (UNFINISHED_STATUSES.includes(run.status) || service.isRunning(runId))
    return { error: "running", message: `run '${runId}' is still running (${run.status})` };
  const bare = service.bareOf(run.repository);
  const workflow = (await workflowsAt(bare, run.sha)).find((w) => w.file === run.workflow_file);
  if (!workflow)
    return {
      error: "gone",
      message: `${run.workflow_file} is no longer a valid workflow at ${run.sha.slice(0, 7)}`,
    };
  const event = JSON.parse(run.trigger) as TriggerEvent;
  const config = await configAt(bare, run.sha);
  const attempt = Number(run.attempt) + 1;
  const previous = await db
    .selectFrom("jobs")
    .select(["key", "name", "status", "outputs", "started_at", "finished_at"])
    .where("run_id", "=", runId)
    .where("attempt", "=", Number(run.attempt))
    .execute();
  const reuse = failedOnly
    ? reuseForFailedRerun(
        workflow,
        previous.map((j) => ({
          key: j.key,
          status: j.status,
          outputs: JSON.parse(j.outputs) as Record<string, string>,
        })),
      )
    : undefined;
  const started = await db.transaction().execute(async (tx) => {
    // One statement decides, so two servers asked at once start one attempt.
    const taken = await tx
      .updateTable("runs")
      .set({
        attempt,
        status: "queued",
        started_at: null,
        finished_at: null,
        owner: service.presence.id,
        cancel_requested: 0,
      })
      .where("id", "=", runId)
      .where("attempt", "=", Number(run.attempt))
      .where("status", "not in", UNFINISHED_STATUSES)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) return false;
    // The kept jobs (with, for a kept call, its called jobs) appear in the new attempt as they
    // were, marked as reused.
    for (const job of previous) {
      const id = topJobIdOfKey(workflow.file, job.key);
      if (!reuse?.has(`${workflow.file} / ${id}`)) continue;
      await tx
        .insertInto("jobs")
        .values({
          id: randomUUID(),
          run_id: runId,
          attempt,
          key: job.key,
          name: job.name,
          status: job.status,
          reason: `reused from attempt ${run.attempt}`,
          started_at: job.started_at,
          finished_at: job.finished_at,
          outputs: job.outputs,
        })
        .execute();
    }
    return true;
  });
  if (!started) return { error: "running", message: `run '${runId}' was started again meanwhile` };
  service.launchAttempt({
    runId,
    runNumber: Number(run.number),
    attempt,
    repositoryId: run.repositoryId,
    bare,
    workflow,
    event,
    config,
    ...(reuse ? { reuse } : {}),
  });
  return { attempt };
}

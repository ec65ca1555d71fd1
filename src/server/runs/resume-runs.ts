import type { Kysely } from "kysely";
import { reuseFinished } from "../../engine/rerun-selection.js";
import { type Database, UNFINISHED_STATUSES } from "../../store/database.js";
import { resolveUnfinished } from "../../store/run-recorder.js";
import type { TriggerEvent } from "../../triggers/event.js";
import { configAt, workflowsAt } from "./git-source.js";
import type { RunService } from "./run-service.js";

/**
 * Carries on the runs a stopped (or gone) server left queued or running, each taken by one
 * process only: each attempt resumes with its finished jobs kept as they ended; jobs a
 * remote agent still holds are waited for where they are (their agents keep running and
 * retry their writes); jobs the gone server's embedded runner held died with it and end as
 * `runner_lost`. A run whose workflow can no longer be read ends as `server_restarted`.
 */
export async function resumeUnfinished(
  service: RunService,
  db: Kysely<Database>,
): Promise<{ resumed: number; ended: number }> {
  const runs = await unfinishedRuns(service, db);
  const unresumable: string[] = [];
  const failures: Error[] = [];
  let resumed = 0;
  for (const run of runs) {
    // Another process may have taken it meanwhile; this one may be running it already.
    if (service.isRunning(run.id) || !(await service.presence.own(run.id))) continue;
    try {
      if (await carryOn(service, db, run)) resumed++;
      else unresumable.push(run.id);
    } catch (err) {
      // Let another process (or a later sweep) try; the other runs go on.
      await service.presence.release(run.id);
      failures.push(err as Error);
    }
  }
  const ended = await resolveUnfinished(db, Date.now(), unresumable);
  if (failures.length > 0) throw failures[0];
  return { resumed, ended };
}

/** The unfinished runs that no process, or this one, carries. */
function unfinishedRuns(service: RunService, db: Kysely<Database>) {
  return db
    .selectFrom("runs")
    .innerJoin("repositories", "repositories.id", "runs.repository_id")
    .select([
      "runs.id",
      "runs.number",
      "runs.attempt",
      "runs.workflow_file",
      "runs.sha",
      "runs.trigger",
      "repositories.id as repositoryId",
      "repositories.name as repository",
    ])
    .where("runs.status", "in", UNFINISHED_STATUSES)
    .where((eb) =>
      eb.or([eb("runs.owner", "is", null), eb("runs.owner", "=", service.presence.id)]),
    )
    .execute();
}

/** Carries one run on; false when its workflow can no longer be read. */
async function carryOn(
  service: RunService,
  db: Kysely<Database>,
  run: Awaited<ReturnType<typeof unfinishedRuns>>[number],
): Promise<boolean> {
  const bare = service.bareOf(run.repository);
  const workflow = (await workflowsAt(bare, run.sha)).find((w) => w.file === run.workflow_file);
  if (!workflow || run.trigger === "{}") return false;
  const attempt = Number(run.attempt);
  const rows = await db
    .selectFrom("jobs")
    .select(["key", "status", "outputs"])
    .where("run_id", "=", run.id)
    .where("attempt", "=", attempt)
    .execute();
  const reuse = reuseFinished(
    workflow,
    rows.map((r) => ({
      key: r.key,
      status: r.status,
      outputs: JSON.parse(r.outputs) as Record<string, string>,
    })),
  );
  const config = await configAt(bare, run.sha);
  const event = JSON.parse(run.trigger) as TriggerEvent;
  service.launchAttempt({
    runId: run.id,
    runNumber: Number(run.number),
    attempt,
    repositoryId: run.repositoryId,
    bare,
    workflow,
    event,
    config,
    reuse,
    resume: true,
  });
  return true;
}

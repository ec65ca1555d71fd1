import type { Kysely } from "kysely";
import { type Database, UNFINISHED_STATUSES } from "../../store/database.js";
import type { TriggerEvent } from "../../triggers/event.js";
import { workflowRunEvent } from "../../triggers/workflow-run-event.js";
import { resolveCommit, workflowsAt } from "./git-source.js";
import type { RunService } from "./run-service.js";
import type { StartResult } from "./start-result.js";

/** How many `workflow_run` links may chain (GitHub's limit: a third level is not started). */
export const MAX_WORKFLOW_RUN_DEPTH = 3;

/** GitHub's run conclusions; a run of ours that ended otherwise (a lost runner...) failed. */
const CONCLUSIONS = new Set(["success", "failure", "cancelled", "skipped"]);

/**
 * Sends `workflow_run` for a run: `requested` when it is recorded, `completed` when it has
 * ended. The repository's workflows at the head of its default branch that listen to runs
 * of this workflow (and to that activity) start, as on GitHub, with
 * `github.event.workflow_run` describing the run (its status and conclusion, head branch and
 * commit). A run started by such a chain more than {@link MAX_WORKFLOW_RUN_DEPTH} links long
 * starts nothing, so a workflow listening to itself stops there.
 */
export async function sendWorkflowRun(
  service: RunService,
  db: Kysely<Database>,
  runId: string,
  action: "requested" | "completed",
): Promise<StartResult | undefined> {
  const run = await db
    .selectFrom("runs")
    .innerJoin("repositories", "repositories.id", "runs.repository_id")
    .select([
      "runs.id",
      "runs.number",
      "runs.attempt",
      "runs.workflow_file",
      "runs.workflow_name",
      "runs.event",
      "runs.ref",
      "runs.sha",
      "runs.status",
      "runs.trigger",
      "repositories.name as repository",
      "repositories.default_branch as defaultBranch",
    ])
    .where("runs.id", "=", runId)
    .executeTakeFirst();
  if (!run) return undefined;
  // `requested` is sent as the run is recorded, whatever it has become since.
  const ended = action === "completed";
  if (ended && UNFINISHED_STATUSES.includes(run.status)) return undefined;
  const trigger = parseTrigger(run.trigger);
  const depth = (trigger?.workflowRun?.depth ?? 0) + 1;
  if (depth > MAX_WORKFLOW_RUN_DEPTH) return undefined;
  const ref = `refs/heads/${run.defaultBranch}`;
  const bare = service.bareOf(run.repository);
  const sha = await resolveCommit(bare, ref);
  if (!sha) return undefined;
  if (!(await workflowsAt(bare, sha)).some((w) => w.on.workflow_run)) return undefined;
  const conclusion = !ended ? null : CONCLUSIONS.has(run.status) ? run.status : "failure";
  const event = workflowRunEvent(
    action,
    {
      id: run.id,
      name: run.workflow_name,
      path: run.workflow_file,
      event: run.event,
      ref: run.ref,
      ...(trigger?.headRef ? { headRef: trigger.headRef } : {}),
      headSha: run.sha,
      conclusion,
      number: Number(run.number),
      attempt: Number(run.attempt),
    },
    { ref, sha, repository: run.repository },
    depth,
  );
  return service.start(run.repository, event);
}

function parseTrigger(text: string | undefined): TriggerEvent | undefined {
  try {
    return text ? (JSON.parse(text) as TriggerEvent) : undefined;
  } catch {
    return undefined;
  }
}

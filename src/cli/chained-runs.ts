import { combinedStatus } from "../engine/reusable-call.js";
import type { RunResult } from "../engine/run-request.js";
import type { TriggerEvent } from "../triggers/event.js";
import { workflowRunEvent as eventFor } from "../triggers/workflow-run-event.js";
import type { Workflow } from "../workflow/model.js";

/** How many `workflow_run` links a local run follows (GitHub's limit). */
export const MAX_LOCAL_CHAIN = 3;

/**
 * The `workflow_run` (`completed`) event that a workflow of a local run sends once its jobs
 * have ended, as GitHub sends it: the run's conclusion from its jobs' results, its head
 * branch, and `depth` links from the event that started the chain. Unlike GitHub, which runs
 * the listening workflows at the default branch's head, a local run keeps the commit and
 * ref it was given (the working tree's workflows are the ones being tried).
 */
export function workflowRunEvent(
  triggering: Workflow,
  result: RunResult,
  base: TriggerEvent,
  runId: string,
  depth: number,
): TriggerEvent {
  const prefix = `${triggering.file} / `;
  const statuses = [...result.jobs]
    .filter(([key]) => key.startsWith(prefix))
    .map(([, job]) => job.status);
  const conclusion = statuses.length === 0 ? "skipped" : combinedStatus(statuses);
  return eventFor(
    "completed",
    {
      id: runId,
      name: triggering.name,
      path: triggering.file,
      event: base.name,
      ref: base.ref,
      // A chained run's head branch is the one its chain started from.
      ...((base.workflowRun?.headBranch ?? base.headRef)
        ? { headRef: base.workflowRun?.headBranch ?? base.headRef }
        : {}),
      headSha: base.sha,
      conclusion,
    },
    base,
    depth,
  );
}

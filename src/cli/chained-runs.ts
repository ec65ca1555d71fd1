import { combinedStatus } from "../engine/reusable-call.js";
import type { RunResult } from "../engine/run-request.js";
import { parseRef, type TriggerEvent } from "../triggers/event.js";
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
  const ref = parseRef(base.ref);
  const headBranch =
    base.workflowRun?.headBranch ??
    base.headRef ??
    (ref.type === "branch" || ref.type === "tag" ? ref.name : undefined);
  return {
    name: "workflow_run",
    action: "completed",
    ref: base.ref,
    sha: base.sha,
    ...(base.repository ? { repository: base.repository } : {}),
    workflowRun: { name: triggering.name, ...(headBranch ? { headBranch } : {}), depth },
    payload: {
      action: "completed",
      workflow_run: {
        id: runId,
        name: triggering.name,
        path: triggering.file,
        event: base.name,
        status: "completed",
        conclusion,
        head_branch: headBranch ?? null,
        head_sha: base.sha,
      },
      workflow: { name: triggering.name, path: triggering.file },
    },
  };
}

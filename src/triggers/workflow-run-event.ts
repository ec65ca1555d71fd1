import { parseRef, type TriggerEvent } from "./event.js";

/** The run a `workflow_run` event describes. */
export interface TriggeringRun {
  readonly id: string;
  /** Its workflow's name and file. */
  readonly name: string;
  readonly path: string;
  /** The event that started it, with its ref (`refs/heads/x`) and head branch when known. */
  readonly event: string;
  readonly ref: string;
  readonly headRef?: string;
  readonly headSha: string;
  /** Null while it has not ended. */
  readonly conclusion: string | null;
  readonly number?: number;
  readonly attempt?: number;
}

/**
 * The `workflow_run` event GitHub sends for a run (`requested` as it is recorded, `completed`
 * once it has ended), to run at `ref`/`sha`, `depth` links from the event that started the
 * chain. Its head branch is the run's pull request head, branch or tag.
 */
export function workflowRunEvent(
  action: "requested" | "completed",
  run: TriggeringRun,
  at: { readonly ref: string; readonly sha: string; readonly repository?: string },
  depth: number,
): TriggerEvent {
  const parsed = parseRef(run.ref);
  const headBranch =
    run.headRef ?? (parsed.type === "branch" || parsed.type === "tag" ? parsed.name : undefined);
  return {
    name: "workflow_run",
    action,
    ref: at.ref,
    sha: at.sha,
    ...(at.repository ? { repository: at.repository } : {}),
    workflowRun: { name: run.name, ...(headBranch ? { headBranch } : {}), depth },
    payload: {
      action,
      workflow_run: {
        id: run.id,
        name: run.name,
        path: run.path,
        ...(run.number !== undefined ? { run_number: run.number } : {}),
        ...(run.attempt !== undefined ? { run_attempt: run.attempt } : {}),
        event: run.event,
        status: run.conclusion === null ? "queued" : "completed",
        conclusion: run.conclusion,
        head_branch: headBranch ?? null,
        head_sha: run.headSha,
      },
      workflow: { name: run.name, path: run.path },
      ...(at.repository ? { repository: { name: at.repository } } : {}),
    },
  };
}

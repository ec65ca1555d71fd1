import type { JobStatus } from "../runner/runner-events.js";
import type { Workflow } from "../workflow/model.js";
import { combinedStatus } from "./reusable-call.js";
import type { ReusedResult } from "./run-engine.js";

/** A job row of an earlier attempt: its key in the run (`file / id` or `file / id (a, b)`). */
export interface PreviousJob {
  readonly key: string;
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
}

const RERUN: ReadonlySet<string> = new Set(["failure", "cancelled"]);

/**
 * What a re-run of failed jobs keeps, as GitHub does: every job that failed or was cancelled
 * runs again, and so does every job that needs one of them, directly or not; every other job
 * keeps its result and outputs. Matrix combinations count as their job: one failed
 * combination runs the whole matrix again. Jobs of the workflow that have no row (never
 * reached) run.
 */
export function reuseForFailedRerun(
  workflow: Workflow,
  previous: readonly PreviousJob[],
): Map<string, ReusedResult> {
  const prefix = `${workflow.file} / `;
  const byJob = rowsByJob(workflow, previous);
  const again = new Set<string>();
  for (const job of workflow.jobs) {
    const rows = byJob.get(job.id);
    if (!rows || rows.some((r) => RERUN.has(r.status) || !FINISHED.has(r.status)))
      again.add(job.id);
  }
  // Dependants of a job that runs again run again too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const job of workflow.jobs) {
      if (again.has(job.id)) continue;
      if (job.needs.some((n) => again.has(n.value))) {
        again.add(job.id);
        grew = true;
      }
    }
  }
  const reuse = new Map<string, ReusedResult>();
  for (const job of workflow.jobs) {
    if (again.has(job.id)) continue;
    const rows = byJob.get(job.id) ?? [];
    reuse.set(`${prefix}${job.id}`, {
      status: combined(rows.map((r) => r.status as JobStatus)),
      outputs: Object.assign({}, ...rows.map((r) => r.outputs)),
    });
  }
  return reuse;
}

const FINISHED: ReadonlySet<string> = new Set(["success", "failure", "cancelled", "skipped"]);

/**
 * The job id a row's key (`file / build` or `file / build (linux, 20)`) belongs to, or
 * undefined for a row of another workflow, or of a job of a workflow that one of its jobs
 * called (`file / deploy / ship`: the calling job's own row stands for the call). Job ids
 * never hold spaces.
 */
export function jobIdOfKey(workflowFile: string, key: string): string | undefined {
  const id = topJobIdOfKey(workflowFile, key);
  if (id === undefined) return undefined;
  const after = key.slice(`${workflowFile} / ${id}`.length);
  return /^( \(.*\))? \/ /.test(after) ? undefined : id;
}

/** The id of the workflow's own job a row belongs to: a called workflow's job's is its caller's. */
export function topJobIdOfKey(workflowFile: string, key: string): string | undefined {
  const prefix = `${workflowFile} / `;
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const space = rest.indexOf(" ");
  return space === -1 ? rest : rest.slice(0, space);
}

/** A workflow's rows by the job they belong to (a matrix's combinations together). */
function rowsByJob(workflow: Workflow, rows: readonly PreviousJob[]): Map<string, PreviousJob[]> {
  const byJob = new Map<string, PreviousJob[]>();
  for (const row of rows) {
    const id = jobIdOfKey(workflow.file, row.key);
    if (id !== undefined) byJob.set(id, [...(byJob.get(id) ?? []), row]);
  }
  return byJob;
}

function combined(statuses: readonly JobStatus[]): JobStatus {
  return statuses.length > 0 && statuses.every((s) => s === "skipped") ? "skipped" : "success";
}

/**
 * What a resumed attempt keeps: every job all of whose rows have finished, with its status
 * (failed ones stay failed) and outputs. Jobs still queued or running are not kept: the
 * engine reaches them again and waits for them where they are.
 */
export function reuseFinished(
  workflow: Workflow,
  rows: readonly PreviousJob[],
): Map<string, ReusedResult> {
  const prefix = `${workflow.file} / `;
  const byJob = rowsByJob(workflow, rows);
  const reuse = new Map<string, ReusedResult>();
  for (const job of workflow.jobs) {
    const mine = byJob.get(job.id);
    if (!mine?.every((r) => FINISHED.has(r.status))) continue;
    reuse.set(`${prefix}${job.id}`, {
      status: combinedStatus(mine.map((r) => r.status as JobStatus)),
      outputs: Object.assign({}, ...mine.map((r) => r.outputs)),
    });
  }
  // The finished jobs of a called workflow whose calling job had not ended are kept too, by
  // their own keys: the call runs again, without them.
  const called = new Map<string, PreviousJob[]>();
  for (const row of rows) {
    if (jobIdOfKey(workflow.file, row.key) !== undefined) continue;
    if (topJobIdOfKey(workflow.file, row.key) === undefined) continue;
    const at = row.key.lastIndexOf(" / ");
    const node = `${row.key.slice(0, at + 3)}${row.key.slice(at + 3).split(" ")[0]}`;
    called.set(node, [...(called.get(node) ?? []), row]);
  }
  for (const [key, mine] of called) {
    if (reuse.has(key) || !mine.every((r) => FINISHED.has(r.status))) continue;
    reuse.set(key, {
      status: combinedStatus(mine.map((r) => r.status as JobStatus)),
      outputs: Object.assign({}, ...mine.map((r) => r.outputs)),
    });
  }
  return reuse;
}

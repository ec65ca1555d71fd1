import type { RunsTable } from "../../store/database.js";

/** The body of every error answer: a stable code and a human message. */
export const errorSchema = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

/** A run as the API shows it. */
export const runSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    number: { type: "number" },
    attempt: { type: "number" },
    workflow: { type: "string" },
    workflowFile: { type: "string" },
    event: { type: "string" },
    ref: { type: "string" },
    sha: { type: "string" },
    status: { type: "string" },
    createdAt: { type: "number" },
    startedAt: { type: ["number", "null"] },
    finishedAt: { type: ["number", "null"] },
  },
} as const;

/** The run columns the API shows (never the payload or trigger, which can be large). */
export const RUN_COLUMNS = [
  "id",
  "number",
  "attempt",
  "workflow_name",
  "workflow_file",
  "event",
  "ref",
  "sha",
  "status",
  "created_at",
  "started_at",
  "finished_at",
] as const;

/** A run row in the API's shape. */
export function toRun(
  r: Omit<RunsTable, "trigger" | "payload" | "repository_id" | "owner" | "cancel_requested">,
) {
  return {
    id: r.id,
    number: Number(r.number),
    attempt: Number(r.attempt),
    workflow: r.workflow_name,
    workflowFile: r.workflow_file,
    event: r.event,
    ref: r.ref,
    sha: r.sha,
    status: r.status,
    createdAt: Number(r.created_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

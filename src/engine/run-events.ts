import type { JobStatus, RunnerEvent } from "../runner/runner-events.js";

/** Why a job is not running yet. */
export type WaitReason =
  | "needs"
  | "capacity"
  | "concurrency"
  | "approval"
  | "max-parallel"
  | "timer";

/**
 * The run's event log: every state change of the run and its jobs, in order, plus what the
 * runners report. The terminal view, `--json`, stored logs and (later) the server all read
 * these events and nothing else.
 */
export type RunEvent =
  | {
      readonly type: "run.started";
      readonly runId: string;
      readonly workflows: readonly { file: string; name: string }[];
      readonly at: number;
    }
  | {
      readonly type: "job.queued";
      readonly job: string;
      readonly name: string;
      readonly workflow: string;
      readonly at: number;
    }
  | {
      readonly type: "job.waiting";
      readonly job: string;
      readonly reason: WaitReason;
      readonly detail: string;
      /** When the wait ends by itself (a wait timer), in ms since the epoch. */
      readonly until?: number;
      /** The environment whose rules hold the job (a wait timer, reviews). */
      readonly environment?: string;
      /** When a job waiting for reviews fails unless approved (30 days after it began waiting). */
      readonly deadline?: number;
      readonly at: number;
    }
  | {
      readonly type: "job.started";
      readonly job: string;
      readonly name: string;
      readonly at: number;
    }
  | {
      readonly type: "job.finished";
      readonly job: string;
      readonly name: string;
      readonly workflow: string;
      readonly status: JobStatus;
      readonly reason?: string;
      readonly durationMs: number;
      readonly outputs: Readonly<Record<string, string>>;
      readonly at: number;
    }
  | {
      readonly type: "run.finished";
      readonly runId: string;
      readonly status: RunStatus;
      readonly durationMs: number;
      readonly at: number;
    }
  | (RunnerEvent & { readonly at: number });

/** How the whole run ended. */
export type RunStatus = "success" | "failure" | "cancelled";

/** Receives run events in order. Must not throw. */
export type RunSink = (event: RunEvent) => void;

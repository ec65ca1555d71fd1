import type { TriggerEvent } from "../triggers/event.js";

/** A job's fate as far as can be told before the run. */
export const JobPlanState = {
  WillRun: "will-run",
  Skipped: "skipped",
  WaitsForApproval: "waits-for-approval",
  WaitsForTimer: "waits-for-timer",
  DependsOnRuntime: "depends-on-runtime",
  /** The job will fail without running a step: its environment refuses the ref, or an expression cannot be evaluated. */
  Blocked: "blocked",
} as const;

/** One of {@link JobPlanState}'s values. */
export type JobPlanState = (typeof JobPlanState)[keyof typeof JobPlanState];

/** One job of a plan; a matrix job appears once per combination. */
export interface PlannedJob {
  /** The job's id in the workflow. */
  readonly id: string;
  /** Unique within the workflow: the id, or `id (v1, v2)` for a matrix combination. */
  readonly key: string;
  readonly name: string;
  readonly state: JobPlanState;
  /** Why the job has this state, in words. */
  readonly reason: string;
  /** The `if:` that decided, as the author wrote it, when one did. */
  readonly condition?: string;
  readonly needs: readonly string[];
  /** 0 for jobs that need nothing, else one more than the deepest need. */
  readonly layer: number;
  readonly matrix?: Readonly<Record<string, unknown>>;
  readonly maxParallel?: number;
  readonly environment?: string;
  readonly runsOn?: readonly string[];
  /** The reusable workflow a calling job runs (`jobs.<id>.uses`). */
  readonly calls?: string;
}

/** The plan of one workflow for the event. */
export interface WorkflowPlan {
  readonly file: string;
  readonly name: string;
  readonly fires: boolean;
  /** Why it fires or not. */
  readonly reason: string;
  readonly jobs: readonly PlannedJob[];
  /** Problems that stop the workflow from running at all (e.g. bad dispatch inputs). */
  readonly errors: readonly string[];
}

/** Everything an event would run. */
export interface RunPlan {
  readonly event: TriggerEvent;
  readonly workflows: readonly WorkflowPlan[];
}

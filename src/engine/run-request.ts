import type { JobSpec } from "../compiler/job-spec.js";
import type { EnvironmentConfig, RepoConfig } from "../config/repo-config.js";
import type { ReviewState } from "../planner/approval-policy.js";
import type { JobResult } from "../runner/job-runner.js";
import type { JobStatus } from "../runner/runner-events.js";
import type { TriggerEvent } from "../triggers/event.js";
import type { Workflow } from "../workflow/model.js";
import type { MatrixFilter } from "./job-strategy.js";
import type { CallScope, WorkflowLoader } from "./reusable-call.js";
import type { RunSink, RunStatus } from "./run-events.js";

// What a run is made of and what the engine needs to run it (see run-engine.ts).

/** A workflow to run, with its resolved `inputs`. */
export interface EngineWorkflow {
  readonly workflow: Workflow;
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Set for a reusable workflow called by one of the run's jobs. */
  readonly caller?: CallScope;
}

/** Everything one run is made of. */
export interface RunRequest {
  readonly runId: string;
  readonly event: TriggerEvent;
  readonly workflows: readonly EngineWorkflow[];
  readonly config: RepoConfig;
  readonly vars: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** The run's number in its repository (`github.run_number`). @default "1" */
  readonly runNumber?: string;
  /** Which attempt of the run this is (`github.run_attempt`). @default "1" */
  readonly runAttempt?: string;
  /** Secrets of each environment, by environment name; a job deploying there sees them over `secrets`. */
  readonly environmentSecrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Results kept from an earlier attempt, by job key (`file / id`): those jobs do not run
   * again, and their dependants read these results (a re-run of failed jobs).
   */
  readonly reuse?: ReadonlyMap<string, ReusedResult>;
  /** Run only these job ids and the jobs they need. */
  readonly only?: readonly string[];
}

/** A job's result carried over from an earlier attempt. */
export interface ReusedResult {
  readonly status: JobStatus;
  readonly outputs: Readonly<Record<string, string>>;
}

/** The engine's collaborators. */
export interface EngineOptions {
  /** Most jobs running at once. */
  readonly maxParallel: number;
  /** Runs one job to its end; must resolve, never reject. */
  execute(spec: JobSpec, cancel: AbortSignal): Promise<JobResult>;
  readonly sink: RunSink;
  /** Aborted to cancel the run. */
  readonly cancel: AbortSignal;
  /** Whether jobs may deploy to a protected environment without waiting (local approval). */
  approved(environment: string): boolean;
  /** How a user approves a deployment here, appended to the reason a job waits. */
  approvalHint?(environment: string): string;
  /** Why no runner can take a job with these labels, or undefined when one can. */
  unrunnable(labels: readonly string[]): string | undefined;
  /** Matrix legs to keep (`--matrix`); all when absent. */
  readonly matrixFilter?: MatrixFilter;
  /** Reads a reusable workflow a job calls (`jobs.<id>.uses`); without it, such jobs fail. */
  readonly loadWorkflow?: WorkflowLoader;
  readonly now?: () => number;
  /**
   * Waits until `now()` reaches `until`, or `signal` aborts (a wait timer). @default real time
   * (a test's clock may jump instead).
   */
  sleep?(until: number, signal: AbortSignal): Promise<void>;
  /**
   * When a job's wait timer ends, if an earlier life of this run started it (a resumed run,
   * from its event log): the timer goes on from there instead of starting again.
   */
  timerUntil?(job: string): number | undefined;
  /** When a job's wait for reviews ends, if an earlier life of this run began it. */
  approvalDeadline?(job: string): number | undefined;
  /**
   * Reviews of deployments, where they can be given while the run waits (the server): a job
   * whose environment needs approval then waits for them instead of being skipped.
   */
  readonly reviews?: ReviewSource;
}

/** Where the engine reads the reviews of a run's deployments. */
export interface ReviewSource {
  /** What the reviews given so far decide for `environment`. */
  state(environment: EnvironmentConfig): ReviewState;
  /** Reads the reviews given since; called before each pass while a job waits for them. */
  refresh(): Promise<void>;
}

/** How the run ended, per job. */
export interface RunResult {
  readonly status: RunStatus;
  readonly jobs: ReadonlyMap<
    string,
    { status: JobStatus; outputs: Record<string, string>; reason?: string }
  >;
}

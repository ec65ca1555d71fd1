import type { Position } from "../common/position.js";
import type { Template } from "./template.js";

/**
 * The typed, immutable model of one workflow file. It is plain data (serialisable, no parser
 * tokens, no run state); positions are kept for messages about a place in the file.
 */
export interface Workflow {
  /** Path of the file as the user named it, e.g. `.github/workflows/ci.yml`. */
  readonly file: string;
  /** `name:`, or the file path when absent (as GitHub shows it). */
  readonly name: string;
  readonly runName?: Template;
  readonly on: Triggers;
  readonly env?: Template;
  readonly defaults?: Template;
  readonly concurrency?: Template;
  readonly permissions?: Template;
  readonly jobs: readonly Job[];
}

/** The events a workflow listens to, keyed by event name. */
export interface Triggers {
  readonly push?: PushTrigger;
  readonly pull_request?: PullRequestTrigger;
  readonly pull_request_target?: PullRequestTrigger;
  readonly workflow_dispatch?: DispatchTrigger;
  readonly workflow_call?: CallTrigger;
  readonly workflow_run?: WorkflowRunTrigger;
  readonly schedule?: readonly ScheduleTrigger[];
  /** Every other event (issues, release, ...) with its `types:` filter, if any. */
  readonly other: Readonly<Record<string, { readonly types?: readonly string[] }>>;
}

/** A filter pattern list with the position of each pattern, for messages. */
export type PatternList = readonly LocatedString[];

/** A string from the file with where it stands. */
export interface LocatedString {
  readonly value: string;
  readonly at: Position;
}

/** `on.push` filters. */
export interface PushTrigger {
  readonly branches?: PatternList;
  readonly branchesIgnore?: PatternList;
  readonly tags?: PatternList;
  readonly tagsIgnore?: PatternList;
  readonly paths?: PatternList;
  readonly pathsIgnore?: PatternList;
}

/** `on.workflow_run`: runs of which workflows (by name), of which activity and branches. */
export interface WorkflowRunTrigger {
  readonly workflows: readonly string[];
  readonly types?: readonly string[];
  readonly branches?: PatternList;
  readonly branchesIgnore?: PatternList;
}

/** `on.pull_request` / `on.pull_request_target` filters. */
export interface PullRequestTrigger {
  readonly types?: readonly string[];
  readonly branches?: PatternList;
  readonly branchesIgnore?: PatternList;
  readonly paths?: PatternList;
  readonly pathsIgnore?: PatternList;
}

/** The kind of a typed input. */
export type InputType = "string" | "boolean" | "number" | "choice" | "environment";

/** A `workflow_dispatch` or `workflow_call` input. */
export interface InputDefinition {
  readonly name: string;
  readonly type: InputType;
  readonly description?: string;
  readonly required: boolean;
  readonly default?: string | number | boolean;
  readonly options?: readonly string[];
  readonly at: Position;
}

/** `on.workflow_dispatch`. */
export interface DispatchTrigger {
  readonly inputs: readonly InputDefinition[];
}

/** `on.workflow_call`. */
export interface CallTrigger {
  readonly inputs: readonly InputDefinition[];
  readonly secrets: readonly string[];
  /** The secrets marked `required: true`. */
  readonly requiredSecrets?: readonly string[];
  /** What the workflow hands back to its caller's job: `outputs.<name>.value`. */
  readonly outputs?: readonly CallOutput[];
}

/** One `on.workflow_call.outputs` entry. */
export interface CallOutput {
  readonly name: string;
  /** Usually `${{ jobs.<id>.outputs.<name> }}`. */
  readonly value?: Template;
}

/** One `on.schedule` entry. */
export interface ScheduleTrigger {
  readonly cron: string;
  readonly timezone?: string;
  readonly at: Position;
}

/** A job that runs steps, or one that calls a reusable workflow (`uses:`). */
export type Job = StepsJob | CallJob;

/** What every job has. */
interface JobBase {
  readonly id: string;
  readonly at: Position;
  readonly name?: Template;
  readonly needs: readonly LocatedString[];
  /** The `if:` expression with GitHub's implicit `success() &&` applied; `success()` when absent. */
  readonly if: string;
  readonly ifAt?: Position;
  readonly strategy?: Template;
  readonly concurrency?: Template;
  readonly outputs?: Template;
  readonly permissions?: Template;
}

/** A job with `steps:`. */
export interface StepsJob extends JobBase {
  readonly kind: "steps";
  readonly runsOn?: Template;
  readonly environment?: Template;
  readonly env?: Template;
  readonly defaults?: Template;
  readonly container?: Template;
  readonly services?: Template;
  readonly timeoutMinutes?: Template;
  readonly continueOnError?: Template;
  readonly steps: readonly Step[];
}

/** A job that calls a reusable workflow. */
export interface CallJob extends JobBase {
  readonly kind: "call";
  readonly uses: string;
  readonly with?: Template;
  readonly secrets?: Template | "inherit";
}

/** One step of a job. */
export interface Step {
  /** `id:` if given; otherwise GitHub's generated id (`__run`, `__actions_checkout`, ...). */
  readonly id: string;
  readonly hasExplicitId: boolean;
  readonly at: Position;
  readonly name?: Template;
  readonly if: string;
  readonly run?: Template;
  readonly runAt?: Position;
  readonly uses?: string;
  /** Where the `uses:` value stands. */
  readonly usesAt?: Position;
  readonly with?: Template;
  readonly env?: Template;
  readonly shell?: string;
  readonly workingDirectory?: Template;
  readonly continueOnError?: Template;
  readonly timeoutMinutes?: Template;
}

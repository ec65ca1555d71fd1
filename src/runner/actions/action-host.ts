import type { Executor } from "../../executors/executor.js";
import type { SecretMasker } from "../../logs/secret-masker.js";
import type { Step } from "../../workflow/model.js";
import type { JobState } from "../job-state.js";
import type { CompositeScope } from "../step-expressions.js";
import type { StepOutput } from "../step-output.js";

/** A `uses:` step, with its inputs evaluated. */
export interface ActionRequest {
  readonly step: Step;
  readonly uses: string;
  /** `with:` inputs, evaluated and coerced to strings. */
  readonly with: Readonly<Record<string, string>>;
  /** The process environment the step would have (defaults, env files, env:). */
  readonly env: Readonly<Record<string, string>>;
  /** The `env` context of the step (job env, GITHUB_ENV, step env). */
  readonly stepEnv: Readonly<Record<string, string>>;
  readonly number: number;
  readonly name: string;
}

/** The job around an action step. */
export interface ActionContext {
  readonly state: JobState;
  /** Where the job's processes run. */
  readonly executor: Executor;
  readonly output: StepOutput;
  readonly signal: AbortSignal;
  readonly masker: SecretMasker;
  /** Expression contexts of the job with the given `env` context. */
  contexts(env: Readonly<Record<string, string>>): Record<string, unknown>;
  /** Schedules a post step (actions' `post:`, cache saves); they run in reverse order. */
  registerPost(post: PostStep): void;
  /** Runs a composite action's steps in the given scope; resolves to the scope afterwards. */
  runComposite(steps: readonly Step[], scope: CompositeScope): Promise<CompositeScope>;
}

/** How an action step ended. */
export interface ActionResult {
  readonly ok: boolean;
  readonly outputs: Record<string, string>;
  /** Why it failed, in words; none when it was ended by its signal (cancel or timeout). */
  readonly message?: string;
  /** Its processes were ended by the step's signal: the runner decides what that means. */
  readonly aborted?: boolean;
}

/** A step that runs after every main step, like an action's `post:`. */
export interface PostStep {
  readonly name: string;
  /** Its condition; GitHub's default for posts is `always()`. */
  readonly if: string;
  readonly env: Readonly<Record<string, string>>;
  run(context: {
    env: Record<string, string>;
    output: StepOutput;
    signal: AbortSignal;
    state: JobState;
  }): Promise<{ ok: boolean; message?: string; aborted?: boolean }>;
}

/** Resolves and runs `uses:` steps: local, mirrored remote, built-in and composite actions. */
export interface ActionHost {
  run(request: ActionRequest, context: ActionContext): Promise<ActionResult>;
  /**
   * At the start of the job: the action's `pre:` script to run now, if it has one (and its
   * `pre-if` holds), as a function of the pre step's output; undefined when there is none.
   * Local actions have none: GitHub cannot run them before the repository is checked out.
   */
  pre?(request: ActionRequest, context: ActionContext): Promise<PreStep | undefined>;
  /**
   * Before the first step: resolves every action the steps use (composite ones recursively),
   * as GitHub's "Set up job" does, so a missing one fails the job before anything ran.
   */
  prepare?(uses: readonly string[], workspace: string): Promise<PreparedActions>;
}

/** What resolving a job's actions before its first step said. */
export interface PreparedActions {
  /** Each action resolved, with where it came from. */
  readonly resolved: readonly {
    readonly uses: string;
    /** The commit (none for a plain-directory mirror). */
    readonly commit?: string;
    /** Where it came from: a URL or a directory. */
    readonly from: string;
    /** It was fetched now, not found in the store. */
    readonly fetched: boolean;
  }[];
  /** Each action that could not be had: why, with the places tried. */
  readonly errors: readonly { readonly uses: string; readonly message: string }[];
}

/** A `pre:` script ready to run. */
export type PreStep = (
  output: StepOutput,
  signal: AbortSignal,
) => Promise<{ ok: boolean; message?: string; aborted?: boolean }>;

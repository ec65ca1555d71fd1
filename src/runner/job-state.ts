import type { JobSpec } from "../compiler/job-spec.js";
import type { JobPaths } from "../executors/executor.js";
import type { StatusFunctions } from "../expressions/evaluate.js";
import type { StepStatus } from "./runner-events.js";
import type { UnsecureCommands } from "./step-output.js";

/** What `steps.<id>` shows of a finished step. */
export interface StepRecord {
  outputs: Record<string, string>;
  outcome: StepStatus;
  conclusion: StepStatus;
}

/**
 * The mutable state of one running job: what earlier steps changed (environment, PATH,
 * outputs, status) and the contexts later expressions see. Owned by the job runner alone.
 */
export class JobState {
  /** Variables added by `GITHUB_ENV`, in the order set; they win over the job's `env:`. */
  readonly addedEnv: Record<string, string> = {};
  /** Entries added by `GITHUB_PATH`, most recent first. */
  readonly addedPath: string[] = [];
  readonly steps: Record<string, StepRecord> = {};
  /** `success` until a step fails without continue-on-error. */
  status: "success" | "failure" = "success";
  cancelled = false;
  /** What the executor adds to the `job` context (`container`, `services`), once prepared. */
  executorContext: Readonly<Record<string, unknown>> = {};

  constructor(
    readonly spec: JobSpec,
    readonly paths: JobPaths,
    /** The runner's name: `RUNNER_NAME` and `runner.name`. */
    readonly runnerName = "trunkline",
  ) {}

  /** Where a step's `::set-env::` and `::add-path::` go, as `GITHUB_ENV` and `GITHUB_PATH` do. */
  readonly unsecure: UnsecureCommands = {
    setEnv: (name, value) => {
      this.addedEnv[name] = value;
    },
    addPath: (dir) => {
      this.addedPath.unshift(dir);
    },
  };

  /** The workflow's and the job's `env:` as the runner evaluated them, once it has. */
  env: Readonly<Record<string, string>> | undefined;

  /** The job-level environment a step starts from: the job's `env:` then `GITHUB_ENV`. */
  jobEnv(): Record<string, string> {
    return { ...(this.env ?? this.spec.env), ...this.addedEnv };
  }

  /** Status functions for `if:` at this point of the job. */
  statusFunctions(): StatusFunctions {
    return {
      success: () => this.status === "success" && !this.cancelled,
      failure: () => this.status === "failure",
      cancelled: () => this.cancelled,
    };
  }

  /** The expression contexts a step sees; `env` is the environment visible where the expression stands. */
  contexts(
    env: Readonly<Record<string, string>>,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const { github, inputs, vars, secrets, matrix, strategy, needs } = this.spec.contexts;
    return {
      github: {
        ...github,
        workspace: this.paths.workspace,
        job: this.spec.jobId,
        ...(extra.github as object),
      },
      env,
      inputs,
      vars,
      secrets,
      matrix,
      strategy,
      needs,
      steps: this.steps,
      job: { ...this.executorContext, status: this.cancelled ? "cancelled" : this.status },
      runner: {
        name: this.runnerName,
        os: "Linux",
        arch: process.arch === "arm64" ? "ARM64" : "X64",
        temp: this.paths.temp,
        tool_cache: this.paths.toolCache,
        debug:
          vars.ACTIONS_STEP_DEBUG === "true" || secrets.ACTIONS_STEP_DEBUG === "true" ? "1" : "",
      },
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "github")),
    };
  }
}

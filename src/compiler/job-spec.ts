import type { Step } from "../workflow/model.js";
import type { Template } from "../workflow/template.js";
import type { Permissions } from "./permissions.js";

/**
 * Everything a runner needs to run one job, and nothing else: plain, serialisable data.
 * Runners never see YAML or the workflow model. Values known before the job starts (env,
 * defaults, timeouts, the contexts of the run) are evaluated here; values that depend on
 * how earlier steps went stay {@link Template}s, evaluated by the runner step by step.
 */
export interface JobSpec {
  readonly runId: string;
  /** The job's id in the workflow (`build`). */
  readonly jobId: string;
  /** Unique within the run: `workflow file / key`, the key being `build` or `test (linux, 20)`. */
  readonly key: string;
  readonly name: string;
  readonly workflow: { readonly name: string; readonly file: string };
  /** Labels a runner must have, from `runs-on`. */
  readonly runsOn: readonly string[];
  readonly environment?: { readonly name: string; readonly url?: Template };
  /** The job token's effective permissions (`permissions:`, GitHub's rule). */
  readonly permissions?: Permissions;
  /** A fork's pull request: read-only credentials, no OIDC, caches restored but not saved. */
  readonly fromFork?: boolean;
  /** The contexts known when the job starts: github, inputs, vars, secrets, matrix, strategy, needs. */
  readonly contexts: JobContexts;
  /** Workflow `env:` then job `env:`, evaluated. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The workflow's and the job's `env:` as written, which the runner evaluates again once it
   * knows the job's directories (`github.workspace`); `env` stands for them until then.
   */
  readonly envTemplates?: { readonly workflow?: Template; readonly job?: Template };
  /** `defaults.run` of the workflow overridden by the job's. */
  readonly defaults: { readonly shell?: string; readonly workingDirectory?: string };
  readonly steps: readonly Step[];
  /** Job `outputs:`, evaluated by the runner once the steps are done. */
  readonly outputs?: Template;
  /** @default 360, as on GitHub */
  readonly timeoutMinutes: number;
  readonly continueOnError: boolean;
  /** Values to mask in every sink: the secrets this job may see. */
  readonly masks: readonly string[];
  /** `container:` evaluated (an image name or its full mapping); only a container executor can honour it. */
  readonly container?: unknown;
  /** `services:` evaluated, by service id; only a container executor can honour them. */
  readonly services?: Readonly<Record<string, unknown>>;
}

/** The contexts fixed for the whole job. */
export interface JobContexts {
  readonly github: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly vars: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  readonly matrix: Readonly<Record<string, unknown>>;
  readonly strategy: Readonly<Record<string, unknown>>;
  readonly needs: Readonly<Record<string, { result: string; outputs: Record<string, string> }>>;
}

/** GitHub's default job timeout, in minutes. */
export const DEFAULT_JOB_TIMEOUT_MINUTES = 360;

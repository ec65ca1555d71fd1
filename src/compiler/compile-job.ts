import { InputError } from "../common/errors.js";
import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import type { StepsJob, Workflow } from "../workflow/model.js";
import { mapGet, type Template } from "../workflow/template.js";
import { DEFAULT_JOB_TIMEOUT_MINUTES, type JobContexts, type JobSpec } from "./job-spec.js";
import { effectivePermissions } from "./permissions.js";

/** What the engine knows when a job is about to start. */
export interface CompileInput {
  readonly runId: string;
  readonly workflow: Workflow;
  readonly job: StepsJob;
  /** Unique within the workflow: the id, or `id (v1, v2)` for a matrix combination. */
  readonly key: string;
  /**
   * What the run key starts with: the workflow's file, or for a called workflow's job, the
   * calling job's key (`ci.yml / deploy`). @default workflow.file
   */
  readonly keyPrefix?: string;
  readonly contexts: JobContexts;
  /** The environment the job deploys to, already evaluated, with its variables. */
  readonly environment?: { readonly name: string; readonly vars: Readonly<Record<string, string>> };
  /** A pull request from a fork: its token reads at most, whatever the workflow asks. */
  readonly fromFork?: boolean;
}

/**
 * Compiles a job of a workflow into a {@link JobSpec}: evaluates what is known before the
 * job starts (runs-on, name, env, defaults, timeout, continue-on-error) against the run's
 * contexts. Throws {@link InputError} naming the field when an expression cannot be
 * evaluated; the engine fails the job with that message.
 */
export function compileJob(input: CompileInput): JobSpec {
  const { workflow, job, key } = input;
  const vars = { ...input.contexts.vars, ...(input.environment?.vars ?? {}) };
  const contexts: JobContexts = { ...input.contexts, vars };
  // `github.job` is known here; `github.workspace` only on the runner, which evaluates the
  // job's `env:` again (`envTemplates`).
  const base = { ...contexts, github: { ...contexts.github, job: job.id } } as Record<
    string,
    unknown
  >;
  const field = (
    name: string,
    t: Template | undefined,
    ctx: Record<string, unknown> = base,
  ): unknown => {
    if (!t) return undefined;
    try {
      return evaluateTemplate(t, ctx);
    } catch (err) {
      throw new InputError(`${workflow.file}: jobs.${job.id}.${name}: ${(err as Error).message}`);
    }
  };
  const workflowEnv = toEnv(field("env", workflow.env));
  const env = { ...workflowEnv, ...toEnv(field("env", job.env, { ...base, env: workflowEnv })) };
  const runsOn = labels(field("runs-on", job.runsOn));
  const name = job.name ? coerceString(field("name", job.name)) : key;
  const defaults = {
    ...runDefaults(field("defaults", workflow.defaults)),
    ...runDefaults(field("defaults", job.defaults, { ...base, env })),
  };
  const timeout = field("timeout-minutes", job.timeoutMinutes);
  const continueOnError = field("continue-on-error", job.continueOnError);
  const environment = environmentOf(job, input.environment?.name);
  const container = field("container", job.container, { ...base, env });
  const services = field("services", job.services, { ...base, env });
  return {
    runId: input.runId,
    jobId: job.id,
    key: `${input.keyPrefix ?? workflow.file} / ${key}`,
    name,
    workflow: { name: workflow.name, file: workflow.file },
    runsOn,
    ...(environment ? { environment } : {}),
    permissions: effectivePermissions(
      field("permissions", workflow.permissions),
      field("permissions", job.permissions),
      input.fromFork === true,
    ),
    ...(input.fromFork ? { fromFork: true } : {}),
    contexts,
    env,
    ...(workflow.env || job.env
      ? {
          envTemplates: {
            ...(workflow.env ? { workflow: workflow.env } : {}),
            ...(job.env ? { job: job.env } : {}),
          },
        }
      : {}),
    defaults,
    steps: job.steps,
    ...(job.outputs ? { outputs: job.outputs } : {}),
    timeoutMinutes:
      typeof timeout === "number" && timeout > 0 ? timeout : DEFAULT_JOB_TIMEOUT_MINUTES,
    continueOnError: continueOnError === true || continueOnError === "true",
    masks: Object.values(contexts.secrets).filter((s) => s.length > 0),
    ...(container !== undefined && container !== null && container !== "" ? { container } : {}),
    ...(services && typeof services === "object"
      ? { services: services as Record<string, unknown> }
      : {}),
  };
}

function toEnv(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = coerceString(v);
  return out;
}

function labels(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(coerceString);
  if (typeof value === "object") {
    const l = (value as { labels?: unknown }).labels;
    return Array.isArray(l) ? l.map(coerceString) : l === undefined ? [] : [coerceString(l)];
  }
  return [coerceString(value)];
}

function runDefaults(value: unknown): { shell?: string; workingDirectory?: string } {
  const run =
    value && typeof value === "object"
      ? (value as { run?: Record<string, unknown> }).run
      : undefined;
  if (!run || typeof run !== "object") return {};
  return {
    ...(run.shell !== undefined ? { shell: coerceString(run.shell) } : {}),
    ...(run["working-directory"] !== undefined
      ? { workingDirectory: coerceString(run["working-directory"]) }
      : {}),
  };
}

function environmentOf(job: StepsJob, name: string | undefined): JobSpec["environment"] {
  if (!name) return undefined;
  const url = job.environment?.kind === "map" ? mapGet(job.environment, "url") : undefined;
  return url ? { name, url } : { name };
}

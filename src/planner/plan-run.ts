import {
  configuredEnvironment,
  EMPTY_REPO_CONFIG,
  type RepoConfig,
} from "../config/repo-config-model.js";
import { contextsUsed } from "../expressions/evaluate.js";
import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import { githubContext, type TriggerEvent } from "../triggers/event.js";
import { matchWorkflow } from "../triggers/match-workflow.js";
import { expandMatrix, type MatrixCombination } from "../workflow/matrix.js";
import type { Job, Workflow } from "../workflow/model.js";
import { mapGet, scalarText, type Template } from "../workflow/template.js";
import { resolveDispatchInputs } from "./dispatch-inputs.js";
import { checkEnvironmentGate } from "./environment-gate.js";
import { decideCondition, displayCondition, type NeedsOutlook } from "./job-condition.js";
import { JobPlanState, type PlannedJob, type RunPlan, type WorkflowPlan } from "./run-plan.js";

/** What planning needs besides the workflows and the event. */
export interface PlanOptions {
  /** The repository's config (environments and their protection, variables). */
  readonly config?: RepoConfig;
  /** Variables (`vars.*`) given on the command line; they win over the config's. */
  readonly vars?: Readonly<Record<string, string>>;
}

/**
 * Plans an event: which workflows fire and, for each, every job (matrix expanded) with what
 * will become of it: run, skipped and why, held for approval or a timer, blocked, or only
 * decidable at run time. Assumes that every job that runs succeeds. Pure.
 */
export function planRun(
  workflows: readonly Workflow[],
  event: TriggerEvent,
  options: PlanOptions = {},
): RunPlan {
  return { event, workflows: workflows.map((w) => planWorkflow(w, event, options)) };
}

function planWorkflow(workflow: Workflow, event: TriggerEvent, options: PlanOptions): WorkflowPlan {
  const base = { file: workflow.file, name: workflow.name };
  const match = matchWorkflow(workflow, event);
  if (!match.fires) return { ...base, fires: false, reason: match.reason, jobs: [], errors: [] };
  let inputs: Record<string, unknown> = {};
  if (event.name === "workflow_dispatch") {
    const resolved = resolveDispatchInputs(
      workflow.on.workflow_dispatch?.inputs ?? [],
      event.inputs ?? {},
    );
    if (!resolved.ok)
      return { ...base, fires: true, reason: match.reason, jobs: [], errors: resolved.errors };
    inputs = { ...resolved.inputs };
  }
  const config = options.config ?? EMPTY_REPO_CONFIG;
  const vars = { ...config.variables, ...options.vars };
  const contexts = { github: githubContext(event, workflow), inputs, vars };
  const planned = new Map<string, PlannedJob[]>();
  const layers = new Map<string, number>();
  for (const job of topologicalOrder(workflow.jobs)) {
    const needs = job.needs.map((n) => n.value);
    const layer = needs.length === 0 ? 0 : 1 + Math.max(...needs.map((n) => layers.get(n) ?? 0));
    layers.set(job.id, layer);
    planned.set(job.id, planJob(job, layer, outlook(needs, planned), contexts, event, config));
  }
  const jobs = workflow.jobs.flatMap((j) => planned.get(j.id) ?? []);
  return { ...base, fires: true, reason: match.reason, jobs, errors: [] };
}

type Contexts = Readonly<Record<string, unknown>>;

function planJob(
  job: Job,
  layer: number,
  needs: NeedsOutlook,
  contexts: Contexts,
  event: TriggerEvent,
  config: RepoConfig,
): PlannedJob[] {
  const common = { id: job.id, needs: job.needs.map((n) => n.value), layer };
  const single = (
    state: JobPlanState,
    reason: string,
    extra: Partial<PlannedJob> = {},
  ): PlannedJob[] => [
    {
      ...common,
      key: job.id,
      name: displayName(job, undefined, contexts),
      state,
      reason,
      ...extra,
    },
  ];
  const verdict = decideCondition(job.if, contexts, needs);
  const condition = displayCondition(job.if);
  if (verdict.kind === "error") return single(JobPlanState.Blocked, verdict.message, { condition });
  if (verdict.kind === "false") {
    const reason =
      verdict.because === "needs"
        ? `needed job ${needs.skippedNames.map((n) => `'${n}'`).join(", ")} will not succeed`
        : `if: ${condition} is false`;
    return single(JobPlanState.Skipped, reason, { condition });
  }
  if (verdict.kind === "runtime")
    return single(JobPlanState.DependsOnRuntime, `if: ${condition} ${verdict.because}`, {
      condition,
    });
  const conditionNote = job.ifAt ? { condition } : {};
  const matrix = expandMatrix(job.strategy);
  if (matrix.kind === "runtime")
    return single(JobPlanState.DependsOnRuntime, matrix.reason, conditionNote);
  if (matrix.kind === "error")
    return single(JobPlanState.Blocked, matrix.errors.map((e) => e.message).join("; "));
  const combos: (MatrixCombination | undefined)[] =
    matrix.kind === "expanded" ? [...matrix.combinations] : [undefined];
  const maxParallel = numberIn(mapGet(job.strategy, "max-parallel"));
  return combos.map((combo) => {
    const ctx = combo ? { ...contexts, matrix: combo } : contexts;
    const name = displayName(job, combo, ctx);
    const key = combo ? `${job.id} (${Object.values(combo).map(coerceString).join(", ")})` : job.id;
    const extra = {
      ...conditionNote,
      ...(combo ? { matrix: combo } : {}),
      ...(maxParallel !== undefined ? { maxParallel } : {}),
      ...runsOn(job, ctx),
      ...(job.kind === "call" ? { calls: job.uses } : {}),
    };
    const env = environmentOf(job, ctx);
    if (env.kind === "runtime") {
      return {
        ...common,
        key,
        name,
        ...extra,
        state: JobPlanState.DependsOnRuntime,
        reason: "its environment is decided at run time",
      };
    }
    if (env.kind === "error")
      return { ...common, key, name, ...extra, state: JobPlanState.Blocked, reason: env.message };
    if (env.kind === "none")
      return { ...common, key, name, ...extra, state: JobPlanState.WillRun, reason: "will run" };
    const withEnv = { ...common, key, name, ...extra, environment: env.name };
    const gate = checkEnvironmentGate(configuredEnvironment(config, env.name), event.ref);
    switch (gate.kind) {
      case "refused":
        return { ...withEnv, state: JobPlanState.Blocked, reason: gate.reason };
      case "approval":
        return {
          ...withEnv,
          state: JobPlanState.WaitsForApproval,
          reason: `environment '${env.name}' needs ${gate.approvals} approval${gate.approvals === 1 ? "" : "s"} from ${gate.reviewers.join(", ")}`,
        };
      case "timer":
        return {
          ...withEnv,
          state: JobPlanState.WaitsForTimer,
          reason: `environment '${env.name}' waits ${gate.minutes} minute${gate.minutes === 1 ? "" : "s"}`,
        };
      default:
        return {
          ...withEnv,
          state: JobPlanState.WillRun,
          reason: `will run, deploying to '${env.name}'`,
        };
    }
  });
}

/** Aggregates what the plan says of a job's needs (each matrix combination counts). */
function outlook(
  needs: readonly string[],
  planned: ReadonlyMap<string, PlannedJob[]>,
): NeedsOutlook {
  const skippedNames: string[] = [];
  let someSkipped = false;
  let someFail = false;
  let someUnknown = false;
  for (const need of needs) {
    const rows = planned.get(need) ?? [];
    if (rows.some((r) => r.state === JobPlanState.Blocked)) {
      someFail = true;
      skippedNames.push(need);
    } else if (rows.length > 0 && rows.every((r) => r.state === JobPlanState.Skipped)) {
      someSkipped = true;
      skippedNames.push(need);
    } else if (rows.some((r) => r.state === JobPlanState.DependsOnRuntime)) {
      someUnknown = true;
    }
  }
  return { someSkipped, someFail, someUnknown, skippedNames };
}

function displayName(job: Job, combo: MatrixCombination | undefined, contexts: Contexts): string {
  if (job.name) {
    try {
      return coerceString(evaluateTemplate(job.name, contexts));
    } catch {
      // A name that reads run-time contexts is shown by its id until the run.
    }
  }
  return combo ? `${job.id} (${Object.values(combo).map(coerceString).join(", ")})` : job.id;
}

type EnvironmentRef =
  | { kind: "none" }
  | { kind: "named"; name: string }
  | { kind: "runtime" }
  | { kind: "error"; message: string };

function environmentOf(job: Job, contexts: Contexts): EnvironmentRef {
  if (job.kind !== "steps" || !job.environment) return { kind: "none" };
  const t: Template | undefined =
    job.environment.kind === "map" ? mapGet(job.environment, "name") : job.environment;
  if (!t) return { kind: "none" };
  if (t.kind === "expr" && contextsUsed(t.expr).has("needs")) return { kind: "runtime" };
  try {
    const name = coerceString(evaluateTemplate(t, contexts));
    return name === "" ? { kind: "none" } : { kind: "named", name };
  } catch (err) {
    return { kind: "error", message: (err as Error).message };
  }
}

function runsOn(job: Job, contexts: Contexts): { runsOn?: string[] } {
  if (job.kind !== "steps" || !job.runsOn) return {};
  try {
    const value = evaluateTemplate(job.runsOn, contexts);
    if (Array.isArray(value)) return { runsOn: value.map(coerceString) };
    if (value && typeof value === "object") {
      const labels = (value as { labels?: unknown }).labels;
      const group = (value as { group?: unknown }).group;
      const list = Array.isArray(labels)
        ? labels.map(coerceString)
        : labels
          ? [coerceString(labels)]
          : [];
      return { runsOn: group ? [`group:${coerceString(group)}`, ...list] : list };
    }
    return { runsOn: [coerceString(value)] };
  } catch {
    return {};
  }
}

function numberIn(t: Template | undefined): number | undefined {
  const text = scalarText(t);
  const n = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Jobs ordered so each comes after its needs; jobs in a cycle (already reported) come last. */
export function topologicalOrder(jobs: readonly Job[]): Job[] {
  const byId = new Map(jobs.map((j) => [j.id, j] as const));
  const done = new Set<string>();
  const out: Job[] = [];
  let progress = true;
  while (progress && out.length < jobs.length) {
    progress = false;
    for (const job of jobs) {
      if (done.has(job.id)) continue;
      if (job.needs.every((n) => done.has(n.value) || !byId.has(n.value))) {
        done.add(job.id);
        out.push(job);
        progress = true;
      }
    }
  }
  for (const job of jobs) if (!done.has(job.id)) out.push(job);
  return out;
}

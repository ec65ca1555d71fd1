import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import type { JobStatus } from "../runner/runner-events.js";
import type { CallJob, Workflow } from "../workflow/model.js";
import { resolveCallInputs } from "./call-inputs.js";
import { instanceKey, strategyContext, strategyOf } from "./job-strategy.js";
import type { EngineWorkflow } from "./run-engine.js";
import type { CalledWorkflow, Node } from "./run-graph.js";

// Reusable workflows (`jobs.<id>.uses`): the called workflow's jobs join the run under the
// calling job's key, with the inputs and secrets the call gives, and the calling job ends
// with their combined result and the outputs the called workflow declares.

/** How deep calls may nest, counting the run's own workflow as the first level (GitHub's limit). */
export const MAX_CALL_DEPTH = 10;

/** Where a called workflow runs: under the key of the job instance that called it. */
export interface CallScope {
  /** The calling job instance's key (`ci.yml / deploy`); the called jobs' keys go under it. */
  readonly key: string;
  /** The workflow the run started from: every called job's `github` context is its, as on GitHub. */
  readonly root: Workflow;
  /** The secrets the call passes (`secrets:` or `inherit`), with `GITHUB_TOKEN`. */
  readonly secrets: Readonly<Record<string, string>>;
  /** 2 for a workflow called by one of the run's own workflows, and so on. */
  readonly depth: number;
}

/** Reads the workflow a `uses:` names; rejects with a message naming the problem. */
export type WorkflowLoader = (uses: string, caller: Workflow) => Promise<Workflow>;

/**
 * Loads every workflow the run's workflows call, and those they call, once each (by `uses:`),
 * before the run starts: `uses:` takes no expressions, so what a run may call is known up
 * front. A workflow that cannot be loaded is kept as the error the calling job will end with.
 */
export async function loadCalledWorkflows(
  workflows: readonly Workflow[],
  load: WorkflowLoader | undefined,
): Promise<Map<string, Workflow | Error>> {
  const out = new Map<string, Workflow | Error>();
  // Each `uses:` is read once, so a cycle ends; the nesting limit is the engine's, at run time.
  const visit = async (workflow: Workflow): Promise<void> => {
    for (const job of workflow.jobs) {
      if (job.kind !== "call" || out.has(job.uses)) continue;
      if (!load) {
        out.set(job.uses, new Error("this runner cannot read called workflows"));
        continue;
      }
      const called = await load(job.uses, workflow).catch((err: unknown) =>
        err instanceof Error ? err : new Error(String(err)),
      );
      out.set(job.uses, called);
      if (!(called instanceof Error)) await visit(called);
    }
  };
  for (const workflow of workflows) await visit(workflow);
  return out;
}

/**
 * The called workflow, ready to run for one instance of a calling job: its inputs from
 * `with:` and its secrets from `secrets:` (evaluated in the calling job's contexts), or why
 * the call cannot be made.
 */
export function prepareCall(input: {
  readonly job: CallJob;
  readonly target: Workflow | Error | undefined;
  readonly caller: EngineWorkflow;
  /** The calling instance's key: the called jobs' keys go under it. */
  readonly key: string;
  /** The contexts `with:` and `secrets:` are evaluated in (github, inputs, vars, needs, matrix, strategy). */
  readonly contexts: Record<string, unknown>;
  /** The secrets the calling job has. */
  readonly secrets: Readonly<Record<string, string>>;
}): EngineWorkflow | Error {
  const { job, target, caller } = input;
  if (target === undefined || target instanceof Error)
    return new Error(`cannot call '${job.uses}': ${target?.message ?? "it was not loaded"}`);
  const call = target.on.workflow_call;
  if (!call)
    return new Error(`'${job.uses}' is not a reusable workflow: it has no on.workflow_call`);
  const depth = (caller.caller?.depth ?? 1) + 1;
  if (depth > MAX_CALL_DEPTH)
    return new Error(
      `'${job.uses}' would nest reusable workflows deeper than ${MAX_CALL_DEPTH} levels`,
    );
  const withContexts = { ...input.contexts, secrets: input.secrets };
  let withValues: Record<string, unknown>;
  let secrets: Record<string, string>;
  try {
    withValues = (job.with ? evaluateTemplate(job.with, withContexts) : {}) as Record<
      string,
      unknown
    >;
    secrets =
      job.secrets === "inherit"
        ? { ...input.secrets }
        : {
            ...(input.secrets.GITHUB_TOKEN !== undefined
              ? { GITHUB_TOKEN: input.secrets.GITHUB_TOKEN }
              : {}),
            ...stringValues(job.secrets ? evaluateTemplate(job.secrets, withContexts) : {}),
          };
  } catch (err) {
    return new Error(`calling '${job.uses}': ${(err as Error).message}`);
  }
  const inputs = resolveCallInputs(call.inputs, withValues ?? {});
  if (!inputs.ok) return new Error(`calling '${job.uses}': ${inputs.errors.join("; ")}`);
  const given = new Set(
    Object.entries(secrets)
      .filter(([, v]) => v !== "")
      .map(([k]) => k.toLowerCase()),
  );
  const missing = (call.requiredSecrets ?? []).filter((s) => !given.has(s.toLowerCase()));
  if (missing.length > 0)
    return new Error(
      `calling '${job.uses}': secret${missing.length > 1 ? "s" : ""} ${missing.map((s) => `'${s}'`).join(", ")} required but not given`,
    );
  return {
    workflow: target,
    inputs: inputs.inputs,
    caller: {
      key: input.key,
      root: caller.caller?.root ?? caller.workflow,
      secrets,
      depth,
    },
  };
}

/**
 * The called workflow of each instance of a calling job (one per matrix combination), keyed
 * under the instance's key, without their jobs yet; or how the calling job ends instead.
 */
export function callInstances(
  node: Node,
  job: CallJob,
  contexts: Record<string, unknown>,
  called: ReadonlyMap<string, Workflow | Error>,
  secrets: Readonly<Record<string, string>>,
):
  | { calls: CalledWorkflow[]; failFast: boolean; maxParallel: number }
  | { status: JobStatus; reason: string } {
  const strategy = strategyOf(job, contexts);
  if (strategy.kind !== "ok")
    return { status: strategy.kind === "empty" ? "skipped" : "failure", reason: strategy.reason };
  const calls: CalledWorkflow[] = [];
  for (const [index, combo] of strategy.combos.entries()) {
    const key = `${node.wf.caller?.key ?? node.wf.workflow.file} / ${instanceKey(job.id, combo)}`;
    const prepared = prepareCall({
      job,
      target: called.get(job.uses),
      caller: node.wf,
      key,
      contexts: {
        ...contexts,
        matrix: combo ?? {},
        strategy: strategyContext(
          index,
          strategy.combos.length,
          strategy.failFast,
          strategy.maxParallel,
        ),
      },
      secrets,
    });
    if (prepared instanceof Error) return { status: "failure", reason: prepared.message };
    calls.push({ key, wf: prepared, jobs: [], started: false, cancelled: false });
  }
  return { calls, failFast: strategy.failFast, maxParallel: strategy.maxParallel };
}

/**
 * Moves a matrix of calls on, as a matrix of jobs goes: instances start while fewer than
 * `max-parallel` run; with fail-fast, one that fails stops the others (those running are
 * cancelled, the rest never start); a cancelled run starts none. Returns whether anything
 * changed.
 */
export function advanceCalls(
  node: Node,
  runCancelled: boolean,
  act: { start(call: CalledWorkflow): void; cancel(call: CalledWorkflow): void },
): boolean {
  const calls = node.calls;
  if (!calls || node.status) return false;
  const ended = (c: CalledWorkflow) => c.started && c.jobs.every((j) => j.status);
  const failed = calls.some(
    (c) => ended(c) && combinedStatus(c.jobs.map((j) => j.status)) === "failure",
  );
  let changed = false;
  for (const c of calls) {
    if (c.cancelled || ended(c)) continue;
    if (!c.started && (runCancelled || (failed && node.failFast))) {
      c.cancelled = true;
      changed = true;
    } else if (c.started && failed && node.failFast) {
      c.cancelled = true;
      act.cancel(c);
      changed = true;
    }
  }
  let active = calls.filter((c) => c.started && !ended(c)).length;
  for (const c of calls) {
    if (active >= node.maxParallel) break;
    if (c.started || c.cancelled) continue;
    c.started = true;
    act.start(c);
    active++;
    changed = true;
  }
  return changed;
}

/**
 * How a calling job ends once every called job has: their combined result, and the outputs
 * its workflows declare; undefined while one runs. With a matrix of calls, as on GitHub, an
 * output is the value set by the last instance to end successfully that set one.
 */
export function callEnded(
  calls: readonly CalledWorkflow[],
  contextsOf: (wf: EngineWorkflow) => Record<string, unknown>,
): { status: JobStatus; outputs: Record<string, string>; reason?: string } | undefined {
  if (calls.some((c) => (!c.started && !c.cancelled) || c.jobs.some((j) => !j.status)))
    return undefined;
  const outputs: Record<string, string> = {};
  const errors: string[] = [];
  const endOf = (c: CalledWorkflow) => Math.max(0, ...c.jobs.map((j) => j.endedAs ?? 0));
  for (const c of [...calls].filter((c) => c.started).sort((a, b) => endOf(a) - endOf(b))) {
    if (calls.length > 1 && combinedStatus(c.jobs.map((j) => j.status)) !== "success") continue;
    const jobs = Object.fromEntries(
      c.jobs.map((j) => [j.job.id, { result: j.status ?? "skipped", outputs: j.outputs }]),
    );
    const out = callOutputs(c.wf, jobs, contextsOf(c.wf));
    errors.push(...out.errors);
    for (const [k, v] of Object.entries(out.outputs))
      if (calls.length === 1 || v !== "") outputs[k] = v;
  }
  const statuses = calls.flatMap((c): (JobStatus | undefined)[] =>
    c.started ? c.jobs.map((j) => j.status) : ["cancelled"],
  );
  if (errors.length > 0) return { status: "failure", outputs, reason: errors.join("; ") };
  return { status: combinedStatus(statuses), outputs };
}

/**
 * The outputs a called workflow hands to its calling job: each `outputs.<name>.value`
 * evaluated with the `jobs` context of the called jobs. A value that cannot be evaluated is
 * left out (and named in `errors`).
 */
export function callOutputs(
  called: EngineWorkflow,
  jobs: Readonly<Record<string, { result: string; outputs: Record<string, string> }>>,
  contexts: Record<string, unknown>,
): { outputs: Record<string, string>; errors: string[] } {
  const outputs: Record<string, string> = {};
  const errors: string[] = [];
  for (const output of called.workflow.on.workflow_call?.outputs ?? []) {
    if (!output.value) continue;
    try {
      outputs[output.name] = coerceString(
        evaluateTemplate(output.value, { ...contexts, inputs: called.inputs, jobs }),
      );
    } catch (err) {
      errors.push(`outputs.${output.name}: ${(err as Error).message}`);
    }
  }
  return { outputs, errors };
}

/** A job's result from its parts' (matrix instances, or a called workflow's jobs). */
export function combinedStatus(statuses: readonly (JobStatus | undefined)[]): JobStatus {
  if (statuses.includes("failure")) return "failure";
  if (statuses.includes("cancelled") || statuses.includes(undefined)) return "cancelled";
  if (statuses.every((s) => s === "skipped")) return "skipped";
  return "success";
}

function stringValues(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) out[k] = coerceString(v);
  return out;
}

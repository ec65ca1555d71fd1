import type { JobSpec } from "../compiler/job-spec.js";
import type { EnvironmentConfig } from "../config/repo-config.js";
import type { JobStatus } from "../runner/runner-events.js";
import type { Job, Workflow } from "../workflow/model.js";
import type { ConcurrencyGroup } from "./concurrency.js";
import type { EngineWorkflow, RunRequest } from "./run-engine.js";

// The run as a graph: a node per job, an instance per matrix combination, and the walks the
// engine makes over `needs`.

/** One job of the run, with all its matrix combinations. */
export interface Node {
  readonly wf: EngineWorkflow;
  readonly job: Job;
  readonly key: string;
  status?: JobStatus;
  reason?: string;
  outputs: Record<string, string>;
  instances: Instance[];
  maxParallel: number;
  failFast: boolean;
  /** For a job calling a reusable workflow, once it runs: the called workflow per instance. */
  calls?: CalledWorkflow[];
  /** When the call started (its duration is until the last called job ends). */
  calledAt?: number;
  /** The order in which jobs of the run ended: 1 for the first. */
  endedAs?: number;
}

/** One instance of a calling job: the workflow it called, and that workflow's jobs. */
export interface CalledWorkflow {
  readonly key: string;
  readonly wf: EngineWorkflow;
  /** The called workflow's jobs, once the instance has started. */
  jobs: readonly Node[];
  started: boolean;
  /** Ended before it started, or stopped (fail-fast, a cancelled run). */
  cancelled: boolean;
}

/** A workflow of the run, as a member of its concurrency group. */
export interface WorkflowMember {
  readonly wf: EngineWorkflow;
  readonly group?: ConcurrencyGroup;
  released: boolean;
}

/** One matrix combination of a job (or the job itself), as it runs. */
export interface Instance {
  readonly node: Node;
  readonly key: string;
  readonly name: string;
  /** What the runner gets; undefined for an instance that ended before it could start. */
  readonly spec: JobSpec | undefined;
  readonly abort: AbortController;
  readonly group?: ConcurrencyGroup;
  readonly continueOnError: boolean;
  state: "queued" | "running" | "done";
  status?: JobStatus;
  waitingSaid?: string;
  /** A wait timer holds it until then (ms since the epoch). */
  notBefore?: number;
  /** Its environment's reviewers hold it: which environment, and until when at most. */
  awaiting?: { readonly environment: EnvironmentConfig; readonly deadline: number; said?: string };
}

/**
 * A job's key in the run: `workflow file / job id`, or for a called workflow's job, under the
 * calling job's key (`ci.yml / deploy / release`).
 */
export function keyOf(wf: EngineWorkflow, jobId: string): string {
  return `${wf.caller?.key ?? wf.workflow.file} / ${jobId}`;
}

/** A node for every job of the run (or only those `only` names and what they need). */
export function buildNodes(request: RunRequest): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const wf of request.workflows) {
    const wanted = request.only?.length ? closure(wf.workflow, request.only) : undefined;
    addNodes(nodes, wf, request.reuse, wanted);
  }
  return nodes;
}

/**
 * Adds a node for each job of `wf` (those in `wanted`, when given), carrying over results
 * kept from an earlier attempt; returns the nodes added.
 */
export function addNodes(
  nodes: Map<string, Node>,
  wf: EngineWorkflow,
  reuse: RunRequest["reuse"],
  wanted?: ReadonlySet<string>,
): Node[] {
  const added: Node[] = [];
  for (const job of wf.workflow.jobs) {
    if (wanted && !wanted.has(job.id)) continue;
    const key = keyOf(wf, job.id);
    const reused = reuse?.get(key);
    const node: Node = {
      wf,
      job,
      key,
      ...(reused ? { status: reused.status } : {}),
      outputs: { ...reused?.outputs },
      instances: [],
      maxParallel: Number.POSITIVE_INFINITY,
      failFast: true,
    };
    nodes.set(key, node);
    added.push(node);
  }
  return added;
}

/** The named jobs and, transitively, the jobs they need. */
function closure(workflow: Workflow, only: readonly string[]): Set<string> {
  const byId = new Map(workflow.jobs.map((j) => [j.id, j] as const));
  const out = new Set<string>();
  const stack = only.filter((id) => byId.has(id));
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    for (const n of byId.get(id)?.needs ?? []) stack.push(n.value);
  }
  return out;
}

/** The `needs` context of a node: its needs' results and outputs. */
export function needsContext(
  node: Node,
  nodes: ReadonlyMap<string, Node>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of node.job.needs) {
    const need = nodes.get(keyOf(node.wf, n.value));
    out[n.value] = { result: need?.status ?? "skipped", outputs: need?.outputs ?? {} };
  }
  return out;
}

/** Every job a node needs, directly or not. */
export function ancestors(node: Node, nodes: ReadonlyMap<string, Node>): Node[] {
  const out: Node[] = [];
  const seen = new Set<string>();
  const stack = [...node.job.needs.map((n) => keyOf(node.wf, n.value))];
  while (stack.length > 0) {
    const key = stack.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    const n = nodes.get(key);
    if (!n) continue;
    out.push(n);
    stack.push(...n.job.needs.map((x) => keyOf(n.wf, x.value)));
  }
  return out;
}

/** An instance that ended before it started (refused by a gate, or not compilable). */
export function doneInstance(node: Node, key: string, name: string, status: JobStatus): Instance {
  return {
    node,
    key,
    name,
    spec: undefined,
    abort: new AbortController(),
    continueOnError: false,
    state: "done",
    status,
  };
}

/** Each job's result at the end of a run (a job that never ended counts as cancelled). */
export function jobResults(
  nodes: ReadonlyMap<string, Node>,
): Map<string, { status: JobStatus; outputs: Record<string, string>; reason?: string }> {
  const jobs = new Map<
    string,
    { status: JobStatus; outputs: Record<string, string>; reason?: string }
  >();
  for (const n of nodes.values())
    jobs.set(n.key, {
      status: n.status ?? "cancelled",
      outputs: n.outputs,
      ...(n.reason ? { reason: n.reason } : {}),
    });
  return jobs;
}

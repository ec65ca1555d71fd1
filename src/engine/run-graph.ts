import type { JobSpec } from "../compiler/job-spec.js";
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
}

/** A job's key in the run: `workflow file / job id`. */
export function keyOf(wf: EngineWorkflow, jobId: string): string {
  return `${wf.workflow.file} / ${jobId}`;
}

/** A node for every job of the run (or only those `only` names and what they need). */
export function buildNodes(request: RunRequest): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const wf of request.workflows) {
    const wanted = request.only?.length ? closure(wf.workflow, request.only) : undefined;
    for (const job of wf.workflow.jobs) {
      if (wanted && !wanted.has(job.id)) continue;
      const reused = request.reuse?.get(keyOf(wf, job.id));
      nodes.set(keyOf(wf, job.id), {
        wf,
        job,
        key: keyOf(wf, job.id),
        ...(reused ? { status: reused.status } : {}),
        outputs: { ...reused?.outputs },
        instances: [],
        maxParallel: Number.POSITIVE_INFINITY,
        failFast: true,
      });
    }
  }
  return nodes;
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

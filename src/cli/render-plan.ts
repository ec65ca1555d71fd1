import {
  JobPlanState,
  type PlannedJob,
  type RunPlan,
  type WorkflowPlan,
} from "../planner/run-plan.js";
import type { Palette } from "./terminal.js";

const LABELS: Record<JobPlanState, string> = {
  [JobPlanState.WillRun]: "will run",
  [JobPlanState.Skipped]: "skipped",
  [JobPlanState.WaitsForApproval]: "waits for approval",
  [JobPlanState.WaitsForTimer]: "waits for timer",
  [JobPlanState.DependsOnRuntime]: "depends on runtime",
  [JobPlanState.Blocked]: "blocked",
};

/** Renders a plan for a terminal: per firing workflow, each job with its state and reason, then the needs graph. */
export function renderPlan(
  plan: RunPlan,
  c: Palette,
  /** Per `file / job key`, the runs-on labels nothing on this host serves. */
  unservable: ReadonlyMap<string, readonly string[]> = new Map(),
): string {
  const lines: string[] = [];
  const firing = plan.workflows.filter((w) => w.fires);
  const quiet = plan.workflows.filter((w) => !w.fires);
  lines.push(
    c.bold(`${plan.event.name} ${plan.event.ref}`) + c.dim(` @ ${plan.event.sha.slice(0, 12)}`),
  );
  for (const wf of firing) lines.push("", ...renderWorkflow(wf, c, unservable));
  if (quiet.length > 0) {
    lines.push("", c.dim("Not triggered:"));
    for (const wf of quiet) lines.push(c.dim(`  ${wf.name} (${wf.file}): ${wf.reason}`));
  }
  lines.push("", summary(firing));
  return lines.join("\n");
}

function renderWorkflow(
  wf: WorkflowPlan,
  c: Palette,
  unservable: ReadonlyMap<string, readonly string[]>,
): string[] {
  const lines = [`${c.bold(wf.name)} ${c.dim(`${wf.file} — ${wf.reason}`)}`];
  for (const e of wf.errors) lines.push(`  ${c.red("✗")} ${e}`);
  const width = Math.max(0, ...wf.jobs.map((j) => j.key.length));
  for (const job of wf.jobs) {
    const [icon, paint] = style(job.state, c);
    const detail =
      job.state === JobPlanState.WillRun ? job.reason.replace(/^will run,? ?/, "") : job.reason;
    const extra = [
      job.runsOn?.length ? `runs-on: ${job.runsOn.join(", ")}` : "",
      job.calls ? `calls ${job.calls}` : "",
      job.maxParallel ? `max-parallel: ${job.maxParallel}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    lines.push(
      `  ${paint(icon)} ${job.key.padEnd(width)}  ${paint(LABELS[job.state])}${detail ? `: ${detail}` : ""}${extra ? c.dim(`  (${extra})`) : ""}`,
    );
    const missing = unservable.get(`${wf.file} / ${job.key}`);
    if (missing)
      lines.push(
        `    ${c.red(`✗ no runner here has [${missing.join(", ")}]: a local run fails it (--label ${missing[0]}, or -P ${missing[0]}=host|IMAGE)`)}`,
      );
  }
  const edges = dependencyLines(wf.jobs);
  if (edges.length > 0) lines.push(c.dim("  needs:"), ...edges.map((e) => c.dim(`    ${e}`)));
  return lines;
}

/** `job ← need1, need2` per job that needs others, in layer order. */
function dependencyLines(jobs: readonly PlannedJob[]): string[] {
  const seen = new Set<string>();
  return [...jobs]
    .sort((a, b) => a.layer - b.layer)
    .filter((j) => j.needs.length > 0 && !seen.has(j.id) && seen.add(j.id))
    .map((j) => `${j.id} ← ${j.needs.join(", ")}`);
}

function style(state: JobPlanState, c: Palette): [string, (s: string) => string] {
  switch (state) {
    case JobPlanState.WillRun:
      return ["✓", c.green];
    case JobPlanState.Skipped:
      return ["–", c.dim];
    case JobPlanState.WaitsForApproval:
    case JobPlanState.WaitsForTimer:
      return ["⏸", c.yellow];
    case JobPlanState.DependsOnRuntime:
      return ["?", c.cyan];
    default:
      return ["✗", c.red];
  }
}

function summary(firing: readonly WorkflowPlan[]): string {
  const counts = new Map<JobPlanState, number>();
  for (const job of firing.flatMap((w) => w.jobs))
    counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const parts = [...counts].map(([state, n]) => `${n} ${LABELS[state]}`);
  const wf = `${firing.length} workflow${firing.length === 1 ? "" : "s"} triggered`;
  return parts.length > 0 ? `${wf}: ${parts.join(", ")}` : wf;
}

/** The plan as data for scripts: per workflow, one object per job with its id, state and reason. */
export function planToJson(
  plan: RunPlan,
  unservable: ReadonlyMap<string, readonly string[]> = new Map(),
): unknown {
  return {
    event: {
      name: plan.event.name,
      ref: plan.event.ref,
      sha: plan.event.sha,
      ...(plan.event.action ? { action: plan.event.action } : {}),
    },
    workflows: plan.workflows.map((w) => ({
      file: w.file,
      name: w.name,
      fires: w.fires,
      reason: w.reason,
      errors: w.errors,
      jobs: w.jobs.map((j) => ({
        id: j.id,
        key: j.key,
        name: j.name,
        state: j.state,
        reason: j.reason,
        needs: j.needs,
        layer: j.layer,
        ...(j.condition !== undefined ? { condition: j.condition } : {}),
        ...(j.matrix ? { matrix: j.matrix } : {}),
        ...(j.environment ? { environment: j.environment } : {}),
        ...(j.runsOn ? { runsOn: j.runsOn } : {}),
        ...(j.maxParallel !== undefined ? { maxParallel: j.maxParallel } : {}),
        ...(unservable.has(`${w.file} / ${j.key}`)
          ? { unservedLabels: unservable.get(`${w.file} / ${j.key}`) }
          : {}),
      })),
    })),
  };
}

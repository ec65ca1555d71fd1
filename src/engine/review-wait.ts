import type { EnvironmentConfig } from "../config/repo-config.js";
import { approvalDetail } from "../planner/approval-policy.js";
import type { JobStatus } from "../runner/runner-events.js";
import { timerDetail } from "./job-gates.js";
import type { RunEvent, RunSink } from "./run-events.js";
import type { Instance, Node } from "./run-graph.js";
import type { EngineOptions, ReviewSource } from "./run-request.js";

// Jobs whose environment's reviewers hold them: each pass of the engine they hear the
// reviews given since, and start, fail or go on waiting.

/** How long a deployment waits for its reviews at most, as on GitHub: 30 days. */
export const APPROVAL_DAYS_MS = 30 * 24 * 60 * 60_000;

/** How often a job waiting for reviews looks for new ones. */
export const REVIEW_POLL_MS = 2_000;

/**
 * Holds a job its environment gates: for its reviewers (saying how many approvals it has)
 * and its wait timer from now (or from when an earlier life of the run started it); for the
 * timer alone, saying until when.
 */
export function hold(
  instance: Instance,
  verdict: { awaiting: EnvironmentConfig } | { waitMinutes: number },
  options: Pick<EngineOptions, "reviews" | "timerUntil" | "approvalDeadline">,
  at: number,
  sink: RunSink,
): void {
  if ("awaiting" in verdict) {
    const env = verdict.awaiting;
    const state = options.reviews?.state(env);
    const said = approvalDetail(env, state?.kind === "pending" ? state.have : 0);
    const deadline = options.approvalDeadline?.(instance.key) ?? at + APPROVAL_DAYS_MS;
    instance.awaiting = { environment: env, deadline, said };
    if (env.waitTimer > 0)
      instance.notBefore = options.timerUntil?.(instance.key) ?? at + env.waitTimer * 60_000;
    sink(approvalWaiting(instance, said, at));
    return;
  }
  const until = options.timerUntil?.(instance.key) ?? at + verdict.waitMinutes * 60_000;
  instance.notBefore = until;
  sink({
    type: "job.waiting",
    job: instance.key,
    reason: "timer",
    detail: timerDetail(until, verdict.waitMinutes),
    until,
    at,
  });
}

/**
 * One pass over the jobs waiting for reviews: approved ones stop waiting (for their timer, if
 * it has not run out, they say so), a rejected one ends as a failure naming who rejected it
 * and why, one past its 30 days ends as a failure too; the others say how many approvals
 * they have, when that changed.
 */
export async function reviewPass(
  nodes: ReadonlyMap<string, Node>,
  reviews: ReviewSource,
  now: number,
  sink: RunSink,
  end: (instance: Instance, status: JobStatus, reason: string) => void,
): Promise<void> {
  const waiting = [...nodes.values()].flatMap((n) =>
    n.instances.filter((i) => i.state === "queued" && i.awaiting),
  );
  if (waiting.length === 0) return;
  await reviews.refresh();
  for (const instance of waiting) {
    const awaiting = instance.awaiting;
    if (!awaiting) continue;
    const env = awaiting.environment;
    const state = reviews.state(env);
    if (state.kind === "approved") {
      delete instance.awaiting;
      if (instance.notBefore !== undefined && instance.notBefore > now)
        sink({
          type: "job.waiting",
          job: instance.key,
          reason: "timer",
          detail: timerDetail(instance.notBefore, env.waitTimer),
          until: instance.notBefore,
          at: now,
        });
    } else if (state.kind === "rejected") {
      delete instance.awaiting;
      end(
        instance,
        "failure",
        `the deployment to '${env.name}' was rejected by ${state.by}${state.comment ? `: ${state.comment}` : ""}`,
      );
    } else if (now >= awaiting.deadline) {
      delete instance.awaiting;
      end(instance, "failure", `the deployment to '${env.name}' was not approved within 30 days`);
    } else {
      const detail = approvalDetail(env, state.have);
      if (awaiting.said === detail) continue;
      awaiting.said = detail;
      sink(approvalWaiting(instance, detail, now));
    }
  }
}

/**
 * The event of a job waiting for reviews: with its deadline and, when its environment has a
 * wait timer too, when that runs out, so a resumed run carries both on (`waitTimersOf`).
 */
function approvalWaiting(instance: Instance, detail: string, at: number): RunEvent {
  const awaiting = instance.awaiting;
  return {
    type: "job.waiting",
    job: instance.key,
    reason: "approval",
    detail,
    ...(awaiting ? { environment: awaiting.environment.name, deadline: awaiting.deadline } : {}),
    ...(instance.notBefore !== undefined ? { until: instance.notBefore } : {}),
    at,
  };
}

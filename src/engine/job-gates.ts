import type { EnvironmentConfig } from "../config/repo-config.js";
import { configuredEnvironment } from "../config/repo-config-model.js";
import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import { checkEnvironmentGate } from "../planner/environment-gate.js";
import type { JobStatus } from "../runner/runner-events.js";
import type { Job, StepsJob } from "../workflow/model.js";
import { mapGet } from "../workflow/template.js";
import type { ConcurrencyGroup } from "./concurrency.js";
import type { EngineOptions, RunRequest } from "./run-engine.js";

// What may hold a job back when it is ready: its environment's rules and its concurrency group.

/** The environment a job deploys to, evaluated; undefined when it names none. */
export function environmentName(
  job: StepsJob,
  contexts: Record<string, unknown>,
): string | undefined {
  if (!job.environment) return undefined;
  const t = job.environment.kind === "map" ? mapGet(job.environment, "name") : job.environment;
  if (!t) return undefined;
  const name = coerceString(evaluateTemplate(t, contexts));
  return name === "" ? undefined : name;
}

/** A job's or workflow's concurrency group, evaluated; undefined when it has none. */
export function concurrencyOf(
  t: Job["concurrency"],
  contexts: Record<string, unknown>,
): ConcurrencyGroup | undefined {
  if (!t) return undefined;
  const value = evaluateTemplate(t, contexts);
  if (value && typeof value === "object") {
    const v = value as { group?: unknown; "cancel-in-progress"?: unknown };
    const name = coerceString(v.group);
    return name
      ? {
          name,
          cancelInProgress: v["cancel-in-progress"] === true || v["cancel-in-progress"] === "true",
        }
      : undefined;
  }
  const name = coerceString(value);
  return name ? { name, cancelInProgress: false } : undefined;
}

/**
 * What an environment's rules do to a job: nothing, its final status and why (a refusal, an
 * approval not given here), or minutes it must wait (a wait timer).
 */
export function gate(
  envName: string,
  request: RunRequest,
  options: EngineOptions,
):
  | { status: JobStatus; reason: string }
  | { waitMinutes: number }
  | { awaiting: EnvironmentConfig }
  | undefined {
  const verdict = checkEnvironmentGate(
    configuredEnvironment(request.config, envName),
    request.event.ref,
  );
  switch (verdict.kind) {
    case "refused":
      return { status: "failure", reason: verdict.reason };
    case "approval": {
      const env = configuredEnvironment(request.config, envName);
      // Where reviews can come while the run waits, the job waits for them.
      if (options.reviews && env) return { awaiting: env };
      if (!options.approved(envName))
        return {
          status: "skipped",
          reason: `waiting for approval to deploy to '${envName}' (${verdict.reviewers.join(", ")})${options.approvalHint ? `; ${options.approvalHint(envName)}` : ""}`,
        };
      return verdict.waitTimer > 0 ? { waitMinutes: verdict.waitTimer } : undefined;
    }
    case "timer":
      return { waitMinutes: verdict.minutes };
    default:
      return undefined;
  }
}

/** What a job waiting for its environment's timer says: `waiting until 14:05:00 (wait timer 5 m)`. */
export function timerDetail(until: number, minutes: number): string {
  const time = new Date(until).toTimeString().slice(0, 8);
  return `waiting until ${time} (wait timer ${minutes} m)`;
}

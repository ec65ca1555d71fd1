import type { Kysely } from "kysely";
import type { EnvironmentConfig } from "../../config/repo-config.js";
import { configuredEnvironment } from "../../config/repo-config-model.js";
import { type ReviewRecord, recordReviews, reviewsOf } from "../../deploy/approvals.js";
import { reviewRefusal, reviewState } from "../../planner/approval-policy.js";
import type { Database } from "../../store/database.js";
import { eventsSinceStart } from "../../store/event-log.js";
import { repositoryPath } from "../git/bare-repository.js";
import { configAt } from "./git-source.js";

/** A deployment of a run waiting for its reviewers: the environment and what it asks. */
export interface PendingDeployment {
  readonly environment: EnvironmentConfig;
  /** Whether the asking token may review it now (a reviewer, not refused self-review). */
  readonly canReview: boolean;
  /** Why it may not, when it may not. */
  readonly refusal?: string;
}

/** A review asked for through the API. */
export interface ReviewRequest {
  readonly environments: readonly string[];
  readonly state: "approved" | "rejected";
  readonly comment: string;
}

/** What a review request came to: recorded, or refused with an HTTP status and why. */
export type ReviewOutcome =
  | { readonly recorded: readonly ReviewRecord[] }
  | { readonly status: 403 | 404 | 409 | 422; readonly code: string; readonly message: string };

/**
 * The deployments of a run's current attempt that wait for reviews: environments a job is
 * `waiting` for (its `job.waiting` event names it, since the attempt's last start) whose
 * reviews have not decided yet, with the repository's rules at the run's commit. Undefined
 * when there is no such run.
 */
export async function pendingDeployments(
  db: Kysely<Database>,
  dataDir: string,
  runId: string,
  who: { readonly name: string; readonly role: string },
): Promise<PendingDeployment[] | undefined> {
  return (await pendingOf(db, dataDir, runId, who))?.pending;
}

/** {@link pendingDeployments}, with the attempt they are of. */
async function pendingOf(
  db: Kysely<Database>,
  dataDir: string,
  runId: string,
  who: { readonly name: string; readonly role: string },
): Promise<{ attempt: number; pending: PendingDeployment[] } | undefined> {
  const run = await db
    .selectFrom("runs")
    .innerJoin("repositories", "repositories.id", "runs.repository_id")
    .select(["runs.attempt", "runs.sha", "runs.trigger", "repositories.name as repository"])
    .where("runs.id", "=", runId)
    .executeTakeFirst();
  if (!run) return undefined;
  const attempt = Number(run.attempt);
  const waiting = new Set(
    (
      await db
        .selectFrom("jobs")
        .select("key")
        .where("run_id", "=", runId)
        .where("attempt", "=", attempt)
        .where("status", "=", "waiting")
        .execute()
    ).map((j) => j.key),
  );
  if (waiting.size === 0) return { attempt, pending: [] };
  const names = new Set<string>();
  for (const data of await eventsSinceStart(db, runId, "job.waiting")) {
    const event = data as { job?: string; reason?: string; environment?: string };
    if (event.reason === "approval" && event.environment && waiting.has(event.job ?? ""))
      names.add(event.environment);
  }
  if (names.size === 0) return { attempt, pending: [] };
  const config = await configAt(repositoryPath(dataDir, run.repository), run.sha);
  const reviews = await reviewsOf(db, runId, attempt);
  const triggeredBy = (JSON.parse(run.trigger || "{}") as { actor?: string }).actor;
  const pending: PendingDeployment[] = [];
  for (const name of [...names].sort()) {
    const environment = configuredEnvironment(config, name);
    if (!environment || reviewState(environment, reviews).kind !== "pending") continue;
    const refusal = reviewRefusal(environment, who, triggeredBy);
    pending.push({ environment, canReview: !refusal, ...(refusal ? { refusal } : {}) });
  }
  return { attempt, pending };
}

/**
 * Reviews deployments of a run, as GitHub's `pending_deployments` does: each environment
 * named must wait for reviews (422 otherwise, naming those that do), and the token must be
 * one of its reviewers, and not the run's trigger where self-review is prevented (403 with
 * the reason). All are recorded, or none.
 */
export async function reviewDeployments(
  db: Kysely<Database>,
  dataDir: string,
  runId: string,
  who: { readonly name: string; readonly role: string },
  request: ReviewRequest,
  now = Date.now(),
): Promise<ReviewOutcome> {
  const found = await pendingOf(db, dataDir, runId, who);
  if (!found) return { status: 404, code: "not_found", message: `no run '${runId}'` };
  const { attempt, pending } = found;
  const byName = new Map(pending.map((p) => [p.environment.name, p]));
  for (const name of request.environments) {
    const found = byName.get(name);
    if (!found) {
      const names = [...byName.keys()];
      return {
        status: 422,
        code: "not_waiting",
        message: `no deployment of this run to '${name}' waits for review (${names.length > 0 ? `waiting: ${names.join(", ")}` : "none waits"})`,
      };
    }
    if (found.refusal) return { status: 403, code: "forbidden", message: found.refusal };
  }
  const recorded: ReviewRecord[] = [...new Set(request.environments)].map((environment) => ({
    runId,
    attempt,
    environment,
    state: request.state,
    actor: who.name,
    comment: request.comment,
    at: now,
  }));
  if (!(await recordReviews(db, recorded)))
    return {
      status: 409,
      code: "attempt_changed",
      message: "the run started another attempt meanwhile: review what waits now",
    };
  return { recorded };
}

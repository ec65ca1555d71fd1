import { allows, isRole } from "../common/roles.js";
import type { EnvironmentConfig } from "../config/repo-config.js";

// Who may review a deployment, and what the reviews so far decide. Pure.

/** Someone reviewing: their token's name and role. */
export interface Reviewer {
  readonly name: string;
  readonly role: string;
}

/** One review given to a deployment. */
export interface Review {
  readonly environment: string;
  readonly state: "approved" | "rejected";
  readonly actor: string;
  readonly comment: string;
  readonly at: number;
}

/** Where a deployment stands with its reviews. */
export type ReviewState =
  | { readonly kind: "approved"; readonly by: readonly string[] }
  | { readonly kind: "rejected"; readonly by: string; readonly comment: string }
  | { readonly kind: "pending"; readonly have: number; readonly need: number };

/**
 * Why `who` may not review a deployment to `env` of a run `triggeredBy` triggered, or
 * undefined when they may: they must be a reviewer the environment names (by name, or by a
 * role they have or outrank), and not the run's trigger when the environment prevents
 * self-review.
 */
export function reviewRefusal(
  env: EnvironmentConfig,
  who: Reviewer,
  triggeredBy: string | undefined,
): string | undefined {
  const me = person(who.name);
  const named = env.reviewers.some((entry) => {
    const role = entry.trim().toLowerCase();
    return isRole(role) ? isRole(who.role) && allows(who.role, role) : person(entry) === me;
  });
  if (!named)
    return `${who.name} (${who.role}) is not a reviewer of environment '${env.name}'; its reviewers are ${env.reviewers.join(", ")}`;
  if (!env.allowSelfReview && triggeredBy !== undefined && person(triggeredBy) === me)
    return `${who.name} triggered this run, and environment '${env.name}' prevents self-review (allow-self-review: false)`;
  return undefined;
}

/**
 * What the reviews of one environment decide, as GitHub does: any rejection rejects; else
 * approved once as many different reviewers as it requires have approved.
 */
export function reviewState(env: EnvironmentConfig, reviews: readonly Review[]): ReviewState {
  const mine = reviews.filter((r) => r.environment === env.name);
  const rejected = mine.find((r) => r.state === "rejected");
  if (rejected) return { kind: "rejected", by: rejected.actor, comment: rejected.comment };
  const by = [
    ...new Map(
      mine.filter((r) => r.state === "approved").map((r) => [person(r.actor), r.actor]),
    ).values(),
  ];
  const need = Math.max(1, env.requiredApprovals);
  return by.length >= need ? { kind: "approved", by } : { kind: "pending", have: by.length, need };
}

/** What a job waiting for reviews says: `waiting for approval to deploy to 'production' (1 of 2: tech-lead, sre)`. */
export function approvalDetail(env: EnvironmentConfig, have: number): string {
  const need = Math.max(1, env.requiredApprovals);
  return `waiting for approval to deploy to '${env.name}' (${have} of ${need}: ${env.reviewers.join(", ")})`;
}

/** Who a name stands for: names are compared trimmed and ignoring case (`Alice` is `alice`). */
function person(name: string): string {
  return name.trim().toLowerCase();
}

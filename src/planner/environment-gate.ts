import type { EnvironmentConfig } from "../config/repo-config.js";
import { parseRef } from "../triggers/event.js";
import { compileFilterPattern, isPattern, matchesIncludeList } from "../workflow/filter-pattern.js";

/** What an environment's protection rules do to a job that deploys to it. */
export type GateVerdict =
  | { readonly kind: "open" }
  | {
      readonly kind: "approval";
      readonly reviewers: readonly string[];
      readonly approvals: number;
      /** A wait timer that also holds the job (minutes from when it was ready), or 0. */
      readonly waitTimer: number;
    }
  | { readonly kind: "timer"; readonly minutes: number }
  | { readonly kind: "refused"; readonly reason: string };

/**
 * Applies an environment's rules to a ref, as GitHub does when a job is about to start: a
 * ref the deployment branch and tag policy does not allow fails the job; otherwise required
 * reviewers hold it for approval and a wait timer for its minutes (both, when both are set:
 * the job starts once approved and the timer has run out). An environment the config does
 * not name has no rules.
 */
export function checkEnvironmentGate(env: EnvironmentConfig | undefined, ref: string): GateVerdict {
  if (!env) return { kind: "open" };
  const selected = env.deploymentBranches !== undefined || env.deploymentTags !== undefined;
  if (selected) {
    const parts = parseRef(ref);
    const patterns =
      parts.type === "branch"
        ? env.deploymentBranches
        : parts.type === "tag"
          ? env.deploymentTags
          : undefined;
    const compiled = (patterns ?? []).map((p) => compileFilterPattern(p.value)).filter(isPattern);
    if (!matchesIncludeList(compiled, parts.name)) {
      return {
        kind: "refused",
        reason: `environment '${env.name}' does not allow deployments from ${ref}`,
      };
    }
  }
  if (env.reviewers.length > 0)
    return {
      kind: "approval",
      reviewers: env.reviewers,
      approvals: env.requiredApprovals,
      waitTimer: env.waitTimer,
    };
  if (env.waitTimer > 0) return { kind: "timer", minutes: env.waitTimer };
  return { kind: "open" };
}

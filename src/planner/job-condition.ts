import { ExpressionError } from "../common/errors.js";
import {
  contextsUsed,
  evaluateExpression,
  functionsUsed,
  isTruthy,
} from "../expressions/evaluate.js";

/** What is known, before a run, about the jobs a job needs. */
export interface NeedsOutlook {
  /** Some need will be skipped (or blocked), so `success()` is false. */
  readonly someSkipped: boolean;
  /** Some need is blocked and will fail, so `failure()` is true. */
  readonly someFail: boolean;
  /** Some need's outcome is only known at run time. */
  readonly someUnknown: boolean;
  readonly skippedNames: readonly string[];
}

/** The verdict on a job's `if:` before the run. */
export type ConditionVerdict =
  | { readonly kind: "true" }
  | { readonly kind: "false"; readonly because: "condition" | "needs" }
  | { readonly kind: "runtime"; readonly because: string }
  | { readonly kind: "error"; readonly message: string };

/**
 * Decides a job's `if:` ahead of the run, assuming every job that will run succeeds. Where the
 * answer hangs on something only the run can tell (outputs of needs, a need whose own
 * outcome is unknown), every possible answer of the status functions is tried: if all agree
 * the verdict stands, otherwise it is `runtime`.
 */
export function decideCondition(
  condition: string,
  contexts: Readonly<Record<string, unknown>>,
  needs: NeedsOutlook,
): ConditionVerdict {
  let usesNeeds: boolean;
  try {
    usesNeeds = contextsUsed(condition).has("needs");
  } catch (err) {
    return { kind: "error", message: (err as Error).message };
  }
  if (usesNeeds) return { kind: "runtime", because: "reads the results or outputs of needed jobs" };
  const successes =
    needs.someSkipped || needs.someFail ? [false] : needs.someUnknown ? [true, false] : [true];
  const failures = needs.someFail ? [true] : needs.someUnknown ? [false, true] : [false];
  const answers = new Set<boolean>();
  try {
    for (const success of successes) {
      for (const failure of failures) {
        const value = evaluateExpression(condition, contexts, {
          success: () => success,
          failure: () => failure,
          cancelled: () => false,
        });
        answers.add(isTruthy(value));
      }
    }
  } catch (err) {
    const message = err instanceof ExpressionError ? err.message : String(err);
    return { kind: "error", message };
  }
  if (answers.size > 1) return { kind: "runtime", because: "depends on how the needed jobs end" };
  if (answers.has(true)) return { kind: "true" };
  // Skipped: was it the condition itself, or only the implicit success() of skipped needs?
  if (needs.someSkipped || needs.someFail) {
    const alone = evaluateExpression(condition, contexts);
    if (isTruthy(alone) && !hasExplicitStatus(condition))
      return { kind: "false", because: "needs" };
  }
  return { kind: "false", because: "condition" };
}

function hasExplicitStatus(condition: string): boolean {
  const fns = functionsUsed(condition);
  return fns.has("always") || fns.has("failure") || fns.has("cancelled");
}

/** Shows a condition as its author wrote it: without the implicit `success() && (...)`. */
export function displayCondition(condition: string): string {
  const m = /^success\(\) && \((.*)\)$/s.exec(condition);
  return m ? (m[1] as string) : condition;
}

import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import { expandMatrixValue, type MatrixCombination } from "../workflow/matrix.js";
import type { Job } from "../workflow/model.js";

/** A job's `strategy:` evaluated: its matrix combinations (one `undefined` without a matrix). */
export type JobStrategy =
  | {
      readonly kind: "ok";
      readonly combos: readonly (MatrixCombination | undefined)[];
      readonly failFast: boolean;
      readonly maxParallel: number;
    }
  | { readonly kind: "error"; readonly reason: string }
  | { readonly kind: "empty"; readonly reason: string };

/**
 * Legs to keep (`--matrix key:value`, act's): a combination whose value of a named key is
 * none of that key's values is left out; combinations without the key, and jobs without a
 * matrix, are kept.
 */
export type MatrixFilter = Readonly<Record<string, readonly string[]>>;

/** Evaluates a job's `strategy:` (which may read `needs`) and expands its matrix. */
export function strategyOf(
  job: Job,
  contexts: Record<string, unknown>,
  filter: MatrixFilter = {},
): JobStrategy {
  let strategy: Record<string, unknown> = {};
  try {
    strategy = (job.strategy ? evaluateTemplate(job.strategy, contexts) : {}) as Record<
      string,
      unknown
    >;
  } catch (err) {
    return { kind: "error", reason: `strategy: ${(err as Error).message}` };
  }
  const matrix =
    strategy?.matrix === undefined ? { kind: "none" as const } : expandMatrixValue(strategy.matrix);
  if (matrix.kind === "error")
    return { kind: "error", reason: matrix.errors.map((e) => e.message).join("; ") };
  const all = matrix.kind === "expanded" ? [...matrix.combinations] : [undefined];
  const combos = all.filter((combo) => kept(combo, filter));
  if (all.length === 0) return { kind: "empty", reason: "the matrix has no combinations" };
  if (combos.length === 0)
    return {
      kind: "empty",
      reason: `--matrix ${Object.entries(filter)
        .flatMap(([k, vs]) => vs.map((v) => `${k}:${v}`))
        .join(" ")} leaves none of its ${all.length} combinations`,
    };
  return {
    kind: "ok",
    combos,
    failFast: strategy["fail-fast"] !== false && strategy["fail-fast"] !== "false",
    maxParallel: Number(strategy["max-parallel"] ?? 0) || Number.POSITIVE_INFINITY,
  };
}

function kept(combo: MatrixCombination | undefined, filter: MatrixFilter): boolean {
  if (!combo) return true;
  return Object.entries(filter).every(
    ([key, values]) => !(key in combo) || values.includes(coerceString(combo[key])),
  );
}

/** An instance's key within its workflow: the job id, with its matrix values (`test (linux, 20)`). */
export function instanceKey(jobId: string, combo: MatrixCombination | undefined): string {
  return combo ? `${jobId} (${Object.values(combo).map(coerceString).join(", ")})` : jobId;
}

/** The `strategy` context of one instance. */
export function strategyContext(
  index: number,
  total: number,
  failFast: boolean,
  maxParallel: number,
): Record<string, unknown> {
  return {
    "fail-fast": failFast,
    "job-index": index,
    "job-total": total,
    "max-parallel": Number.isFinite(maxParallel) ? maxParallel : total,
  };
}

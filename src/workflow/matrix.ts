import type { Position } from "../common/position.js";
import { literalValue, mapGet, type Template } from "./template.js";

/** One combination of matrix values, in the key order of the file. */
export type MatrixCombination = Readonly<Record<string, unknown>>;

/** The outcome of expanding `strategy.matrix`. */
export type MatrixExpansion =
  | { readonly kind: "none" }
  | { readonly kind: "runtime"; readonly reason: string }
  | { readonly kind: "expanded"; readonly combinations: readonly MatrixCombination[] }
  | { readonly kind: "error"; readonly errors: readonly MatrixError[] };

/** A mistake in a matrix, with where it stands. */
export interface MatrixError {
  readonly message: string;
  readonly at: Position | undefined;
  readonly code: string;
}

/** GitHub's limit on the jobs one matrix may create. */
export const MAX_MATRIX_JOBS = 256;

/**
 * Expands `strategy.matrix` with GitHub's rules: the cartesian product of the vectors in
 * file order, minus `exclude` entries (an entry removes every combination it partially
 * matches), then `include` entries (added to each combination whose original values they do
 * not overwrite, or appended as a new combination when they fit none). A matrix built from
 * an expression (e.g. `fromJSON(needs.x.outputs.m)`) can only be expanded at run time.
 */
export function expandMatrix(strategy: Template | undefined): MatrixExpansion {
  const matrix = mapGet(strategy, "matrix");
  if (!matrix) return { kind: "none" };
  if (matrix.kind === "expr")
    return { kind: "runtime", reason: `matrix is computed by \${{ ${matrix.expr} }}` };
  if (matrix.kind !== "map") return { kind: "none" };
  for (const [key, value, made] of matrix.entries) {
    if (made) return { kind: "runtime", reason: `matrix key ${key} is computed by an expression` };
    if (literalValue(value) === undefined) {
      return { kind: "runtime", reason: `matrix '${key}' is computed by an expression` };
    }
  }
  const locate = (key: string, index?: number): Position | undefined => {
    if (key === "") return matrix.at;
    const value = mapGet(matrix, key);
    if (index !== undefined && value?.kind === "seq") return value.items[index]?.at;
    return value?.at;
  };
  return expandMatrixValue(literalValue(matrix), locate);
}

/**
 * Expands a matrix given as plain JSON (evaluated at run time, or read from the file), with
 * the rules of {@link expandMatrix}. `locate` gives the place of a key (`""` for the matrix
 * itself), or of an entry of `include`/`exclude`, for error messages.
 */
export function expandMatrixValue(
  matrix: unknown,
  locate: (key: string, index?: number) => Position | undefined = () => undefined,
): MatrixExpansion {
  if (!isRecord(matrix)) {
    return {
      kind: "error",
      errors: [{ code: "matrix/shape", at: undefined, message: "matrix must be a mapping" }],
    };
  }
  const errors: MatrixError[] = [];
  const vectors: [string, unknown[]][] = [];
  let include: Record<string, unknown>[] = [];
  let exclude: Record<string, unknown>[] = [];
  for (const [key, literal] of Object.entries(matrix)) {
    const at = locate(key);
    if (key === "include" || key === "exclude") {
      if (!Array.isArray(literal) || !literal.every(isRecord)) {
        errors.push({
          code: "matrix/shape",
          at,
          message: `matrix '${key}' must be a list of mappings`,
        });
        continue;
      }
      if (key === "include") include = literal;
      else exclude = literal;
      continue;
    }
    if (!Array.isArray(literal)) {
      errors.push({ code: "matrix/shape", at, message: `matrix vector '${key}' must be a list` });
    } else if (literal.length === 0) {
      errors.push({
        code: "matrix/empty",
        at,
        message: `matrix vector '${key}' does not contain any values`,
      });
    } else {
      vectors.push([key, literal]);
    }
  }
  const keys = new Set(vectors.map(([k]) => k));
  exclude.forEach((entry, index) => {
    for (const key of Object.keys(entry)) {
      if (!keys.has(key)) {
        const at = locate("exclude", index);
        errors.push({
          code: "matrix/exclude-key",
          at,
          message: `matrix exclude key '${key}' does not match any key within the matrix`,
        });
      }
    }
  });
  if (errors.length > 0) return { kind: "error", errors };

  let combos: Record<string, unknown>[] = vectors.length > 0 ? [{}] : [];
  for (const [key, values] of vectors) {
    const next: Record<string, unknown>[] = [];
    for (const combo of combos) for (const v of values) next.push({ ...combo, [key]: v });
    combos = next;
    if (combos.length > MAX_MATRIX_JOBS * 16) break; // far past the limit: stop multiplying
  }
  combos = combos.filter((combo) => !exclude.some((entry) => partialMatch(combo, entry)));
  // Include entries merge only into the product's own combinations (never into ones an
  // earlier include added), and never overwrite the product's original values.
  const originals = combos.map((c) => ({ ...c }));
  for (const entry of include) {
    let added = false;
    originals.forEach((original, i) => {
      const overwrites = Object.entries(entry).some(
        ([k, v]) => k in original && !deepEqual(original[k], v),
      );
      if (!overwrites) {
        Object.assign(combos[i] as Record<string, unknown>, entry);
        added = true;
      }
    });
    if (!added) combos.push({ ...entry });
  }
  if (combos.length > MAX_MATRIX_JOBS) {
    return {
      kind: "error",
      errors: [
        {
          code: "matrix/too-large",
          at: locate(""),
          message: `matrix creates ${combos.length} jobs; GitHub's limit is ${MAX_MATRIX_JOBS}`,
        },
      ],
    };
  }
  return { kind: "expanded", combinations: combos };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function partialMatch(combo: Record<string, unknown>, entry: Record<string, unknown>): boolean {
  return Object.entries(entry).every(([k, v]) => deepEqual(combo[k], v));
}

/** Structural equality of JSON values; object keys compare without regard to order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ak = Object.keys(a as object);
  const bo = b as Record<string, unknown>;
  return (
    ak.length === Object.keys(bo).length &&
    ak.every((k) => deepEqual((a as Record<string, unknown>)[k], bo[k]))
  );
}

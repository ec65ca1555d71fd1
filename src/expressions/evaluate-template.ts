import type { Template } from "../workflow/template.js";
import {
  ALL_SUCCEEDED,
  evaluateExpression,
  type FunctionTable,
  type StatusFunctions,
} from "./evaluate.js";

/**
 * Evaluates every `${{ }}` in a template against `contexts` and returns plain JSON. A value
 * that is a single expression keeps the type of its result (`${{ fromJSON('[1]') }}` is an
 * array); a string with embedded expressions becomes a string.
 */
export function evaluateTemplate(
  t: Template,
  contexts: Readonly<Record<string, unknown>>,
  status: StatusFunctions = ALL_SUCCEEDED,
  functions: FunctionTable = {},
): unknown {
  switch (t.kind) {
    case "string":
    case "number":
    case "boolean":
      return t.value;
    case "null":
      return null;
    case "expr":
      return evaluateExpression(t.expr, contexts, status, functions);
    case "seq":
      return t.items.map((item) => evaluateTemplate(item, contexts, status, functions));
    case "map": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of t.entries) out[k] = evaluateTemplate(v, contexts, status, functions);
      return out;
    }
  }
}

/** Like {@link evaluateTemplate}, then coerced to a string the way GitHub prints values. */
export function evaluateToString(t: Template, contexts: Readonly<Record<string, unknown>>): string {
  return coerceString(evaluateTemplate(t, contexts));
}

/** GitHub's string coercion: null is '', booleans and numbers print plainly, objects as JSON. */
export function coerceString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value, null, 2);
}

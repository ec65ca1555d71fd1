import { resolveTemplate, type Template } from "../workflow/template.js";
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
  return resolveTemplate(t, (expr) => evaluateExpression(expr, contexts, status, functions));
}

/** GitHub's string coercion: null is '', booleans and numbers print plainly, objects as JSON. */
export function coerceString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value, null, 2);
}

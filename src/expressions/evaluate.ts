import { data, Evaluator, type Expr, Lexer, Parser } from "@actions/expressions";
import {
  Binary,
  ContextAccess,
  FunctionCall,
  Grouping,
  IndexAccess,
  Logical,
  Unary,
} from "@actions/expressions/ast";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import { ExpressionError } from "../common/errors.js";

/**
 * The status functions of `if:` conditions. Their answers depend on how the run went so far,
 * so the caller supplies them: the engine from real results, the planner from assumptions.
 */
export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

/** Status functions for a run where everything so far succeeded. */
export const ALL_SUCCEEDED: StatusFunctions = Object.freeze({
  success: () => true,
  failure: () => false,
  cancelled: () => false,
});

/** Every context name GitHub defines; which ones a field may use is the parser's business. */
export const CONTEXT_NAMES: readonly string[] = [
  "github",
  "env",
  "vars",
  "job",
  "jobs",
  "steps",
  "runner",
  "secrets",
  "strategy",
  "matrix",
  "needs",
  "inputs",
];

const STATUS_NAMES = ["success", "failure", "cancelled", "always"] as const;
const EXTRA_FUNCTIONS = [
  ...STATUS_NAMES.map((name) => ({ name, minArgs: 0, maxArgs: 0 })),
  { name: "hashFiles", minArgs: 1, maxArgs: 255 },
];

/** Parsed expressions by text: a job evaluates the same few (`success()`, ...) again and again. */
const parsed = new Map<string, Expr>();
const PARSED_LIMIT = 2048;

/** Parses an expression (without `${{ }}`); throws {@link ExpressionError} with the reason. */
export function parseExpression(expr: string): Expr {
  const known = parsed.get(expr);
  if (known) return known;
  let tree: Expr;
  try {
    const lexed = new Lexer(expr).lex();
    tree = new Parser(lexed.tokens, [...CONTEXT_NAMES], EXTRA_FUNCTIONS).parse();
  } catch (err) {
    throw new ExpressionError(`invalid expression '${expr}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(expr, tree);
  return tree;
}

/** Extra functions an evaluation may provide, beyond GitHub's built-ins. */
export type FunctionTable = Readonly<Record<string, (...args: unknown[]) => unknown>>;

/**
 * Evaluates an expression against plain-JSON contexts and returns a plain-JSON value.
 * Context names are case-insensitive, as on GitHub. Throws {@link ExpressionError}.
 */
export function evaluateExpression(
  expr: string,
  contexts: Readonly<Record<string, unknown>>,
  status: StatusFunctions = ALL_SUCCEEDED,
  functions: FunctionTable = {},
): unknown {
  const tree = parseExpression(expr);
  const table = new Map<string, FunctionDefinition>();
  const define = (
    name: string,
    min: number,
    max: number,
    call: (...args: data.ExpressionData[]) => data.ExpressionData,
  ) => table.set(name.toLowerCase(), { name, minArgs: min, maxArgs: max, call });
  define("success", 0, 0, () => new data.BooleanData(status.success()));
  define("failure", 0, 0, () => new data.BooleanData(status.failure()));
  define("cancelled", 0, 0, () => new data.BooleanData(status.cancelled()));
  define("always", 0, 0, () => new data.BooleanData(true));
  for (const [name, fn] of Object.entries(functions)) {
    define(name, 0, 255, (...args) => toData(fn(...args.map(fromData))));
  }
  try {
    // Only the contexts the expression reads are converted: the github context alone may
    // carry a large event payload, and a job evaluates many small expressions.
    const used = contextsOf(expr, tree);
    const dict = new data.Dictionary();
    for (const [name, value] of Object.entries(contexts)) {
      if (used.has(name.toLowerCase())) dict.add(name, toData(value));
    }
    const result = new Evaluator(tree, dict, table).evaluate();
    return fromData(result);
  } catch (err) {
    if (err instanceof ExpressionError) throw err;
    throw new ExpressionError(`cannot evaluate '${expr}': ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** GitHub's truthiness: false, 0, -0, NaN, '', and null are falsy; everything else truthy. */
export function isTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "") return false;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  return true;
}

/** The context names an expression reads (`github`, `needs`, ...), lower-cased. */
export function contextsUsed(expr: string): Set<string> {
  return new Set(contextsOf(expr, parseExpression(expr)));
}

const contextNames = new Map<string, ReadonlySet<string>>();

function contextsOf(expr: string, tree: Expr): ReadonlySet<string> {
  let names = contextNames.get(expr);
  if (!names) {
    const found = new Set<string>();
    walk(tree, (node) => {
      if (node instanceof ContextAccess) found.add(node.name.lexeme.toLowerCase());
    });
    if (contextNames.size >= PARSED_LIMIT) contextNames.clear();
    contextNames.set(expr, found);
    names = found;
  }
  return names;
}

/** The function names an expression calls, lower-cased. */
export function functionsUsed(expr: string): Set<string> {
  const names = new Set<string>();
  walk(parseExpression(expr), (node) => {
    if (node instanceof FunctionCall) names.add(node.functionName.lexeme.toLowerCase());
  });
  return names;
}

function walk(node: Expr, visit: (node: Expr) => void): void {
  const stack: Expr[] = [node];
  while (stack.length > 0) {
    const n = stack.pop() as Expr;
    visit(n);
    if (n instanceof Unary) stack.push(n.expr);
    else if (n instanceof Binary) stack.push(n.left, n.right);
    else if (n instanceof Logical) stack.push(...n.args);
    else if (n instanceof Grouping) stack.push(n.group);
    else if (n instanceof IndexAccess) stack.push(n.expr, n.index);
    else if (n instanceof FunctionCall) stack.push(...n.args);
  }
}

/** Converts plain JSON into the expression library's data types. */
export function toData(value: unknown): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (typeof value === "string") return new data.StringData(value);
  if (typeof value === "number") return new data.NumberData(value);
  if (typeof value === "boolean") return new data.BooleanData(value);
  if (Array.isArray(value)) {
    const arr = new data.Array();
    for (const item of value) arr.add(toData(item));
    return arr;
  }
  if (typeof value === "object") {
    const dict = new data.Dictionary();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) dict.add(k, toData(v));
    return dict;
  }
  return new data.StringData(String(value));
}

/** Converts the expression library's data types back into plain JSON. */
export function fromData(value: data.ExpressionData): unknown {
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.String:
    case data.Kind.Number:
    case data.Kind.Boolean:
      return (value as data.StringData | data.NumberData | data.BooleanData).value;
    case data.Kind.Array:
      return (value as data.Array).values().map(fromData);
    default: {
      const out: Record<string, unknown> = {};
      for (const pair of (value as data.Dictionary).pairs()) out[pair.key] = fromData(pair.value);
      return out;
    }
  }
}

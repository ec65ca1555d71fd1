import type { Position } from "../common/position.js";

/**
 * A value from a workflow file as plain, serialisable data, with every `${{ }}` kept for
 * later evaluation. This is what the model holds wherever GitHub allows expressions; the
 * compiler evaluates it against a job's contexts.
 *
 * - `expr`: a whole-value expression, or a string with embedded expressions, which the
 *   parser has already rewritten to `format('...', a, b)`.
 */
export type Template =
  | { readonly kind: "string"; readonly value: string; readonly at?: Position }
  | { readonly kind: "number"; readonly value: number; readonly at?: Position }
  | { readonly kind: "boolean"; readonly value: boolean; readonly at?: Position }
  | { readonly kind: "null"; readonly at?: Position }
  | {
      readonly kind: "expr";
      readonly expr: string;
      readonly at?: Position;
      /** The text as written in the file, `${{ }}` and all, when the parser kept it. */
      readonly source?: string;
      /** For a string with embedded expressions: each `${{ }}` as written, with its place. */
      readonly parts?: readonly { readonly expr: string; readonly at: Position }[];
    }
  | { readonly kind: "seq"; readonly items: readonly Template[]; readonly at?: Position }
  | {
      readonly kind: "map";
      /** Each key's text (as written, for a key given by an expression), its value, and for such a key how it is made. */
      readonly entries: readonly (readonly [string, Template, MapKey?])[];
      readonly at?: Position;
    };

/**
 * A mapping key given by an expression: `${{ expr }}` (its value is the key), or GitHub's
 * `${{ insert }}`, whose value (a mapping) is merged into the mapping it stands in.
 */
export type MapKey = { readonly expr: string } | { readonly insert: true };

/**
 * Folds a template into plain JSON, turning each expression into a value with `resolve`.
 * The one walk over templates: evaluation and literal reading both go through it.
 */
export function resolveTemplate(
  t: Template,
  resolve: (expr: string, at?: Position) => unknown,
): unknown {
  switch (t.kind) {
    case "string":
    case "number":
    case "boolean":
      return t.value;
    case "null":
      return null;
    case "expr":
      return resolve(t.expr, t.at);
    case "seq":
      return t.items.map((item) => resolveTemplate(item, resolve));
    case "map": {
      const out: Record<string, unknown> = {};
      for (const [k, v, key] of t.entries) {
        const value = resolveTemplate(v, resolve);
        // Keys are defined, not assigned: `__proto__` is a key like any other.
        const put = (name: string, v: unknown) =>
          Object.defineProperty(out, name, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        if (key && "insert" in key) {
          if (typeof value !== "object" || value === null || Array.isArray(value))
            throw new Error(`\${{ insert }} needs a mapping, not ${JSON.stringify(value)}`);
          for (const [name, v] of Object.entries(value)) put(name, v);
        } else if (key) {
          const name = resolve(key.expr, t.at);
          if (typeof name === "object" && name !== null)
            throw new Error(`a mapping key must be a string, not ${JSON.stringify(name)}`);
          put(String(name), value);
        } else {
          put(k, value);
        }
      }
      return out;
    }
  }
}

const HAS_EXPRESSION = Symbol("has expression");

/** Plain JSON of a template with no expressions; undefined if it holds any. */
export function literalValue(t: Template): unknown {
  try {
    return resolveTemplate(t, () => {
      throw HAS_EXPRESSION;
    });
  } catch (err) {
    if (err === HAS_EXPRESSION) return undefined;
    throw err;
  }
}

/** The value under `key` in a map template. */
export function mapGet(t: Template | undefined, key: string): Template | undefined {
  if (t?.kind !== "map") return undefined;
  return t.entries.find(([k]) => k === key)?.[1];
}

/** The text of a literal scalar template, or undefined for expressions and collections. */
export function scalarText(t: Template | undefined): string | undefined {
  if (!t) return undefined;
  if (t.kind === "string") return t.value;
  if (t.kind === "number" || t.kind === "boolean") return String(t.value);
  return undefined;
}

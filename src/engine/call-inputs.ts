import type { InputDefinition } from "../workflow/model.js";

/** The `inputs` a called workflow sees, or why the call is refused. */
export type CallInputs =
  | { readonly ok: true; readonly inputs: Readonly<Record<string, string | number | boolean>> }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Resolves what a calling job's `with:` gives a reusable workflow against its
 * `on.workflow_call.inputs`, as GitHub does: an input the workflow does not define is refused,
 * a required one must be given, a value must have its input's type (a boolean input takes
 * `true`, not `'true'`), and defaults fill the rest (an optional input without one is `''`,
 * `false` or `0`).
 */
export function resolveCallInputs(
  definitions: readonly InputDefinition[],
  given: Readonly<Record<string, unknown>>,
): CallInputs {
  const errors: string[] = [];
  const inputs: Record<string, string | number | boolean> = {};
  const byName = new Map(definitions.map((d) => [d.name.toLowerCase(), d] as const));
  for (const name of Object.keys(given)) {
    if (!byName.has(name.toLowerCase()))
      errors.push(`input '${name}' is not defined in the called workflow`);
  }
  for (const def of definitions) {
    const entry = Object.entries(given).find(([k]) => k.toLowerCase() === def.name.toLowerCase());
    const value = entry?.[1];
    if (value === undefined || value === null) {
      if (def.default !== undefined) inputs[def.name] = typed(def, def.default) ?? def.default;
      else if (def.required) errors.push(`input '${def.name}' is required but was not given`);
      else inputs[def.name] = def.type === "boolean" ? false : def.type === "number" ? 0 : "";
      continue;
    }
    const v = typed(def, value);
    if (v === undefined) {
      errors.push(
        `input '${def.name}' must be a ${def.type}, not ${JSON.stringify(value)} (${typeof value})`,
      );
    } else inputs[def.name] = v;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, inputs };
}

/** A value as its input's type, or undefined when it is not of that type. */
function typed(def: InputDefinition, value: unknown): string | number | boolean | undefined {
  switch (def.type) {
    case "boolean":
      return typeof value === "boolean" ? value : undefined;
    case "number":
      return typeof value === "number" ? value : undefined;
    default:
      // A string input takes what a YAML scalar or expression gives, as text.
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      return undefined;
  }
}

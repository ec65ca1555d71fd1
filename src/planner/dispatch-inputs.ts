import type { InputDefinition } from "../workflow/model.js";

/** Typed `inputs` for a dispatched run, or the problems with what was given. */
export type ResolvedInputs =
  | { readonly ok: true; readonly inputs: Readonly<Record<string, string | number | boolean>> }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Resolves `workflow_dispatch` inputs as GitHub does: defaults fill what is missing, booleans
 * and numbers are typed, a choice must be one of its options, a required input must be given
 * and an input the workflow does not define is refused.
 */
export function resolveDispatchInputs(
  definitions: readonly InputDefinition[],
  given: Readonly<Record<string, string>>,
): ResolvedInputs {
  const errors: string[] = [];
  const inputs: Record<string, string | number | boolean> = {};
  const known = new Set(definitions.map((d) => d.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      const names = [...known];
      errors.push(
        `unexpected input '${name}'${names.length ? `; the workflow defines ${names.join(", ")}` : "; the workflow defines no inputs"}`,
      );
    }
  }
  for (const def of definitions) {
    const raw = given[def.name];
    if (raw === undefined) {
      if (def.default !== undefined) inputs[def.name] = def.default;
      else if (def.required) errors.push(`input '${def.name}' is required`);
      else inputs[def.name] = def.type === "boolean" ? false : "";
      continue;
    }
    switch (def.type) {
      case "boolean":
        if (raw !== "true" && raw !== "false")
          errors.push(`input '${def.name}' must be true or false, not '${raw}'`);
        else inputs[def.name] = raw === "true";
        break;
      case "number": {
        const n = Number(raw);
        if (raw.trim() === "" || Number.isNaN(n))
          errors.push(`input '${def.name}' must be a number, not '${raw}'`);
        else inputs[def.name] = n;
        break;
      }
      case "choice":
        if (def.options && !def.options.includes(raw)) {
          errors.push(`input '${def.name}' must be one of ${def.options.join(", ")}, not '${raw}'`);
        } else inputs[def.name] = raw;
        break;
      default:
        inputs[def.name] = raw;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, inputs };
}

import type { BuiltinAction } from "./builtin-action.js";
import { CACHE, CACHE_RESTORE, CACHE_SAVE } from "./cache-actions.js";
import { CHECKOUT } from "./checkout.js";
import { DOWNLOAD_ARTIFACT } from "./download-artifact.js";
import { SETUP_NODE } from "./setup-node.js";
import { SETUP_PYTHON } from "./setup-python.js";
import { UPLOAD_ARTIFACT } from "./upload-artifact.js";

export type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";

/** Trunkline's built-in actions, keyed by lower-cased `owner/repo[/path]`. */
export const BUILTIN_ACTIONS: ReadonlyMap<string, BuiltinAction> = new Map(
  [
    CHECKOUT,
    SETUP_NODE,
    SETUP_PYTHON,
    CACHE,
    CACHE_RESTORE,
    CACHE_SAVE,
    UPLOAD_ARTIFACT,
    DOWNLOAD_ARTIFACT,
  ].map((action) => [action.name.toLowerCase(), action]),
);

/**
 * The built-in action a `uses:` value names, whatever its ref (`actions/cache@v4`,
 * `Actions/Checkout@main`, `actions/cache/restore@<sha>`); undefined for any other action.
 */
export function findBuiltin(uses: string): BuiltinAction | undefined {
  const at = uses.indexOf("@");
  const name = (at === -1 ? uses : uses.slice(0, at)).trim().replace(/\/+$/, "");
  return BUILTIN_ACTIONS.get(name.toLowerCase());
}

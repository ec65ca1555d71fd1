import { parseActionReference } from "../../workflow/action-reference.js";
import type { ActionManifest } from "../../workflow/read-action.js";
import type { PreparedActions } from "./action-host.js";
import { findBuiltin } from "./builtin/index.js";

/** What resolving one remote action gives: its manifest and where it came from, or why not. */
export type Resolution =
  | {
      readonly dir: string;
      readonly manifest: ActionManifest;
      readonly commit?: string;
      readonly from?: string;
      readonly fetched?: boolean;
    }
  | { readonly error: string };

/**
 * Resolves every remote action of `uses`, then those their composite actions use, level by
 * level, each once and a level's actions at the same time. Built-in and local actions are
 * left out: they are not fetched.
 */
export async function prepareActions(
  uses: readonly string[],
  resolve: (uses: string) => Promise<Resolution>,
): Promise<PreparedActions> {
  const resolved: PreparedActions["resolved"][number][] = [];
  const errors: PreparedActions["errors"][number][] = [];
  const seen = new Set<string>();
  let wanted = [...uses];
  while (wanted.length > 0) {
    const fresh = [
      ...new Set(
        wanted.filter(
          (u) => !seen.has(u) && !findBuiltin(u) && parseActionReference(u)?.kind === "remote",
        ),
      ),
    ];
    for (const u of fresh) seen.add(u);
    const found = await Promise.all(fresh.map(resolve));
    wanted = [];
    fresh.forEach((u, i) => {
      const action = found[i];
      if (!action) return;
      if ("error" in action) {
        errors.push({ uses: u, message: action.error });
        return;
      }
      resolved.push({
        uses: u,
        ...(action.commit ? { commit: action.commit } : {}),
        from: action.from ?? action.dir,
        fetched: action.fetched === true,
      });
      if (action.manifest.runs.using === "composite")
        wanted.push(...action.manifest.runs.steps.flatMap((s) => s.uses ?? []));
    });
  }
  return { resolved, errors };
}

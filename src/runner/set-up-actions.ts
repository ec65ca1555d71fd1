import type { JobSpec } from "../compiler/job-spec.js";
import type { ActionHost } from "./actions/action-host.js";

/**
 * Resolves the job's actions before its first step, saying where each came from as GitHub's
 * "Set up job" does. Resolves to the job's failure reason when one cannot be had.
 */
export async function setUpActions(
  spec: JobSpec,
  actions: ActionHost,
  workspace: string,
  say: (line: string) => void,
): Promise<string | undefined> {
  const uses = spec.steps.flatMap((s) => s.uses ?? []);
  if (!actions.prepare || uses.length === 0) return undefined;
  const { resolved, errors } = await actions.prepare(uses, workspace);
  for (const a of resolved)
    say(
      `${a.fetched ? "Download" : "Use"} action repository '${a.uses}' (${a.commit ? `SHA:${a.commit}` : a.from})`,
    );
  for (const e of errors) say(`Error: ${e.message}`);
  if (errors.length === 0) return undefined;
  return errors.length === 1
    ? errors[0]?.message
    : `${errors.length} actions cannot be resolved: ${errors.map((e) => e.message).join("; ")}`;
}

import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ActionStore } from "../actions/action-store.js";
import type { Position } from "../common/position.js";
import { ActionResolver } from "../runner/actions/action-resolver.js";
import type { Workflow } from "../workflow/model.js";

/** One remote action a workflow's step uses, and what resolving it (and what it uses) found. */
export interface ActionCheck {
  readonly uses: string;
  readonly file: string;
  readonly position: Position;
  /** The commit it resolved to; none when it is a plain-directory mirror or cannot be had. */
  readonly commit?: string;
  /** Why it (or an action it uses) cannot be had, with the places tried. */
  readonly error?: string;
}

/**
 * Resolves every remote action the steps of `workflows` use against `store`, each once (a
 * composite action's own actions too), as a job's "Set up job" would: the answer per step.
 */
export async function checkActions(
  workflows: readonly Workflow[],
  store: ActionStore,
  cwd: string,
): Promise<ActionCheck[]> {
  const steps = workflows.flatMap((w) =>
    w.jobs.flatMap((j) =>
      j.kind === "steps"
        ? j.steps.flatMap((s) =>
            s.uses ? [{ uses: s.uses, file: w.file, position: s.usesAt ?? s.at }] : [],
          )
        : [],
    ),
  );
  const resolver = new ActionResolver({
    store,
    repoRoot: cwd,
    artifactDir: join(tmpdir(), "unused"),
    actionsCacheDir: join(tmpdir(), "unused"),
  });
  const answers = new Map(
    await Promise.all(
      [...new Set(steps.map((s) => s.uses))].map(
        async (uses) => [uses, await resolver.prepare([uses], cwd)] as const,
      ),
    ),
  );
  return steps.flatMap((step) => {
    const answer = answers.get(step.uses);
    const top = answer?.resolved.find((r) => r.uses === step.uses);
    // Built-in and local actions are not looked up.
    if (!answer || (!top && answer.errors.length === 0)) return [];
    const error = answer.errors.map((e) => e.message).join("; ");
    return [
      {
        ...step,
        ...(top?.commit ? { commit: top.commit } : {}),
        ...(error ? { error } : {}),
      },
    ];
  });
}

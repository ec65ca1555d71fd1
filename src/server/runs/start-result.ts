import type { RefUpdate } from "../git/push-report.js";

/** A run request's outcome: the runs created, or why none could be. */
export type StartResult =
  | {
      runIds: string[];
      /** Each run started, and each failed at once for an invalid workflow file. */
      runs?: readonly StartedRun[];
      /** Why nothing fired, when nothing did. */
      none?: string;
      /** Planning errors of workflows that would have fired. */
      problems?: readonly string[];
    }
  | { errors: string[] };

/** A run a start created. */
export interface StartedRun {
  readonly id: string;
  readonly number: number;
  readonly workflow: string;
  /** For a workflow file that does not parse: its diagnostics, the run failed at once. */
  readonly invalid?: readonly string[];
}

/** A re-run's outcome. */
export type RerunResult =
  | { readonly attempt: number }
  | { readonly error: "not_found" | "running" | "gone"; readonly message: string };

/** `main` for `refs/heads/main`, `v1` for `refs/tags/v1`. */
export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

/** What a push's pusher is told about the runs of one ref (`remote:` lines). */
export function pushLines(update: RefUpdate, result: StartResult): string[] {
  const ref = shortRef(update.ref);
  if ("errors" in result) return result.errors.map((e) => `Trunkline: ${ref}: ${e}`);
  const lines: string[] = [];
  for (const run of result.runs ?? []) {
    if (run.invalid) {
      lines.push(
        `Trunkline: ${ref}: run #${run.number} failed: ${run.workflow} is not a valid workflow file:`,
      );
      for (const problem of run.invalid) lines.push(`Trunkline:   ${problem}`);
    } else {
      lines.push(
        `Trunkline: ${ref}: started run #${run.number} ${run.workflow}: trunkline runs show ${run.id}`,
      );
    }
  }
  for (const problem of result.problems ?? []) lines.push(`Trunkline: ${ref}: ${problem}`);
  if (result.none && (result.runs ?? []).length === 0)
    lines.push(`Trunkline: ${ref}: no run started: ${result.none}`);
  return lines;
}

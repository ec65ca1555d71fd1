import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import { FILE_START } from "../common/position.js";
import { parseActionReference } from "./action-reference.js";
import { explainCron } from "./cron.js";
import { patternDiagnostics } from "./filter-pattern.js";
import { expandMatrix } from "./matrix.js";
import type { PatternList, Workflow } from "./model.js";

/**
 * Trunkline's checks beyond the official schema: filter patterns, exclusive filter pairs and
 * matrices. Pure.
 */
export function checkWorkflow(workflow: Workflow): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { file, on } = workflow;
  const events = [
    ["push", on.push],
    ["pull_request", on.pull_request],
    ["pull_request_target", on.pull_request_target],
  ] as const;
  for (const [event, trigger] of events) {
    if (!trigger) continue;
    const lists: [string, PatternList | undefined][] = [
      ["branches", trigger.branches],
      ["branches-ignore", trigger.branchesIgnore],
      ["paths", trigger.paths],
      ["paths-ignore", trigger.pathsIgnore],
    ];
    if ("tags" in trigger || "tagsIgnore" in trigger) {
      const push = trigger as { tags?: PatternList; tagsIgnore?: PatternList };
      lists.push(["tags", push.tags], ["tags-ignore", push.tagsIgnore]);
    }
    for (const [key, list] of lists)
      out.push(...patternDiagnostics(file, `on.${event}.${key}`, list, "workflow/filter-pattern"));
    for (const [a, b] of [
      ["branches", "branches-ignore"],
      ["tags", "tags-ignore"],
      ["paths", "paths-ignore"],
    ] as const) {
      const first = lists.find(([k]) => k === a)?.[1];
      const second = lists.find(([k]) => k === b)?.[1];
      if (first && second) {
        out.push(
          diagnostic(
            file,
            second[0]?.at ?? FILE_START,
            "workflow/exclusive-filters",
            `on.${event} cannot use both '${a}' and '${b}'; use '!' patterns in '${a}' instead`,
          ),
        );
      }
    }
  }
  for (const schedule of on.schedule ?? []) {
    const problem = explainCron(schedule.cron);
    if (problem) out.push(diagnostic(file, schedule.at, "workflow/cron", problem));
  }
  const ids = new Set(workflow.jobs.map((j) => j.id));
  for (const job of workflow.jobs) {
    for (const need of job.needs) {
      if (!ids.has(need.value)) {
        out.push(
          diagnostic(
            file,
            need.at,
            "workflow/unknown-need",
            `Job '${job.id}' depends on unknown job '${need.value}'.`,
          ),
        );
      }
    }
    if (job.kind === "steps" && job.steps.length === 0) {
      out.push(
        diagnostic(
          file,
          job.at,
          "workflow/no-steps",
          `job '${job.id}' has no steps; give it steps: or call a reusable workflow with uses:`,
        ),
      );
    }
    if (job.kind === "steps")
      for (const step of job.steps) {
        if (step.uses === undefined || parseActionReference(step.uses)) continue;
        // GitHub refuses the file for it, before anything runs.
        out.push(
          diagnostic(
            file,
            step.usesAt ?? step.at,
            "workflow/bad-uses",
            `Expected format {owner}/{repo}[/path]@ref, ./path or docker://image. Actual '${step.uses}'`,
          ),
        );
      }
    const matrix = expandMatrix(job.strategy);
    if (matrix.kind === "error") {
      for (const e of matrix.errors)
        out.push(diagnostic(file, e.at ?? job.at, `workflow/${e.code}`, e.message));
    }
  }
  return out;
}

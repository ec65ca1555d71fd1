import {
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  sortDiagnostics,
} from "../common/diagnostic.js";
import { lintSecurity } from "../lint/security-lint.js";
import type { Workflow } from "../workflow/model.js";
import type { ActionFlags } from "./action-flags.js";
import { loadRepo } from "./load-repo.js";
import type { Output } from "./terminal.js";

/** Options of `trunkline validate`. */
export interface ValidateOptions {
  readonly cwd: string;
  readonly files: readonly string[];
  readonly json: boolean;
  /** With `offline` set: every remote action is looked up in the mirrors and the action store. */
  readonly actionSources?: ActionFlags;
}

/**
 * `trunkline validate`: reads every workflow and the repository config, reports each problem
 * as `file:line:col: message`. Returns the exit code: 0 when there is no error (warnings
 * allowed), 1 otherwise.
 */
export async function validateCommand(options: ValidateOptions, io: Output): Promise<number> {
  const loaded = await loadRepo(options.cwd, options.files);
  const repo = {
    ...loaded,
    diagnostics: sortDiagnostics([
      ...loaded.diagnostics,
      ...loaded.workflows.flatMap(lintSecurity),
      ...(await callDiagnostics(options.cwd, loaded.workflows)),
      ...(options.actionSources?.offline
        ? await actionDiagnostics(options.cwd, loaded.workflows, options.actionSources)
        : []),
    ]),
  };
  const failed = hasErrors(repo.diagnostics);
  if (options.json) {
    io.out(
      JSON.stringify(
        { valid: !failed, files: repo.files, diagnostics: repo.diagnostics.map(toJson) },
        null,
        2,
      ),
    );
    return failed ? 1 : 0;
  }
  const c = io.colors;
  for (const d of repo.diagnostics) {
    const text = formatDiagnostic(d);
    const colon = text.indexOf(": ");
    io.out(
      c.bold(text.slice(0, colon + 1)) +
        (d.severity === "warning" ? c.yellow(text.slice(colon + 1)) : c.red(text.slice(colon + 1))),
    );
  }
  const errors = repo.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = repo.diagnostics.length - errors;
  const files = repo.files.length;
  const noun = `${files} workflow file${files === 1 ? "" : "s"}`;
  if (errors > 0) {
    const bad = new Set(repo.diagnostics.filter((d) => d.severity === "error").map((d) => d.file))
      .size;
    io.out(
      c.red(
        `✗ ${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""} in ${bad} of ${noun}`,
      ),
    );
  } else if (warnings > 0) {
    io.out(c.yellow(`✓ ${noun} valid, ${plural(warnings, "warning")}`));
  } else {
    io.out(c.green(`✓ ${noun} valid`));
  }
  return failed ? 1 : 0;
}

/**
 * What is wrong with the reusable workflow calls of `workflows`, checked against the
 * workflows of this repository they call (read from disk when not among those given). The
 * code is loaded only for a repository whose workflows call one.
 */
async function callDiagnostics(
  root: string,
  workflows: readonly Workflow[],
): Promise<Diagnostic[]> {
  if (!workflows.some((w) => w.jobs.some((j) => j.kind === "call"))) return [];
  const [{ checkCalls }, { loadCalledWorkflows }, { calledWorkflowLoader }, { ActionStore }] =
    await Promise.all([
      import("../workflow/check-calls.js"),
      import("../engine/reusable-call.js"),
      import("./called-workflows.js"),
      import("../actions/action-store.js"),
    ]);
  // Another repository's workflow is checked for its reference's form only: no source is read.
  const load = calledWorkflowLoader({ root, known: workflows, store: new ActionStore(root, []) });
  const targets = await loadCalledWorkflows(workflows, load);
  return workflows.flatMap((w) => checkCalls(w, targets));
}

/** Each step whose remote action the mirrors and the action store cannot give, offline. */
async function actionDiagnostics(
  cwd: string,
  workflows: readonly Workflow[],
  flags: ActionFlags,
): Promise<Diagnostic[]> {
  const [{ checkActions }, { localActionStore }] = await Promise.all([
    import("./check-actions.js"),
    import("./action-flags.js"),
  ]);
  const checks = await checkActions(workflows, localActionStore(flags), cwd);
  return checks.flatMap((c) =>
    c.error
      ? [
          {
            file: c.file,
            position: c.position,
            severity: "error" as const,
            code: "actions/unresolved",
            message: `'${c.uses}' cannot be had offline: ${c.error}`,
          },
        ]
      : [],
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function toJson(d: Diagnostic) {
  return {
    file: d.file,
    line: d.position.line,
    column: d.position.column,
    severity: d.severity,
    code: d.code,
    message: d.message,
  };
}

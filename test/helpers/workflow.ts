import type { Workflow } from "../../src/workflow/model.js";
import { readWorkflow } from "../../src/workflow/read-workflow.js";

/** Reads a workflow that must be valid; fails loudly with its diagnostics otherwise. */
export async function workflowFrom(yaml: string, file = "wf.yml"): Promise<Workflow> {
  const result = await readWorkflow(file, yaml);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.workflow || errors.length > 0) {
    throw new Error(`invalid test workflow: ${errors.map((d) => d.message).join("; ")}`);
  }
  return result.workflow;
}

/** A one-job workflow with the given `on:` block (YAML text, indented as a top-level key). */
export function withTrigger(on: string): string {
  return `on:\n${on}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n`;
}

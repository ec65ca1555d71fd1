import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import type { Position } from "../common/position.js";
import type { CallJob, InputDefinition, Workflow } from "./model.js";
import type { Template } from "./template.js";
import { parseWorkflowReference } from "./workflow-reference.js";

/**
 * Checks each job of `workflow` that calls a reusable workflow against what it calls, before
 * anything runs: the reference's form, that a workflow of this repository is there and is
 * reusable (`on.workflow_call`), and that `with:` and `secrets:` fit its declarations (inputs
 * it defines, required inputs and secrets given, literal values of the input's type). Calls
 * whose target is not in `targets` (another repository's, say) are checked for form only.
 */
export function checkCalls(
  workflow: Workflow,
  targets: ReadonlyMap<string, Workflow | Error>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const file = workflow.file;
  for (const job of workflow.jobs) {
    if (job.kind !== "call") continue;
    const at = job.at;
    const say = (message: string, where: Position = at) =>
      out.push(diagnostic(file, where, "workflow/call", `jobs.${job.id}: ${message}`));
    const ref = parseWorkflowReference(job.uses);
    if (ref.kind === "invalid") {
      say(`uses: '${job.uses}' is ${ref.reason.replace(/^a /, "not valid: a ")}`);
      continue;
    }
    const target = ref.kind === "local" ? targets.get(job.uses) : undefined;
    if (target === undefined) continue;
    if (target instanceof Error) {
      say(`uses: cannot read '${job.uses}': ${target.message}`);
      continue;
    }
    const call = target.on.workflow_call;
    if (!call) {
      say(`uses: '${job.uses}' is not a reusable workflow: it has no on.workflow_call`);
      continue;
    }
    checkInputs(job, call.inputs, say);
    checkSecrets(job, call.secrets, call.requiredSecrets ?? [], say);
  }
  return out;
}

type Say = (message: string, where?: Position) => void;

function checkInputs(job: CallJob, inputs: readonly InputDefinition[], say: Say): void {
  if (job.with && job.with.kind !== "map") return; // an expression: known only when it runs
  const given = job.with?.entries ?? [];
  const byName = new Map(inputs.map((i) => [i.name.toLowerCase(), i] as const));
  for (const [name, value] of given) {
    const input = byName.get(name.toLowerCase());
    if (!input) {
      const names = inputs.map((i) => i.name);
      say(
        `with.${name}: the called workflow defines no input '${name}'${names.length ? ` (it has ${names.join(", ")})` : ""}`,
        value.at,
      );
      continue;
    }
    const wrong = literalMismatch(input, value);
    if (wrong) say(`with.${name}: ${wrong}`, value.at);
  }
  const named = new Set(given.map(([k]) => k.toLowerCase()));
  for (const input of inputs) {
    if (input.required && input.default === undefined && !named.has(input.name.toLowerCase()))
      say(`with: the called workflow requires input '${input.name}'`);
  }
}

/** Why a literal value does not fit its input's type; undefined when it does or is an expression. */
function literalMismatch(input: InputDefinition, value: Template): string | undefined {
  if (input.type === "boolean" && (value.kind === "string" || value.kind === "number"))
    return `input '${input.name}' is a boolean: write true or false, not ${JSON.stringify(value.value)}`;
  if (input.type === "number" && (value.kind === "string" || value.kind === "boolean"))
    return `input '${input.name}' is a number, not ${JSON.stringify(value.value)}`;
  return undefined;
}

function checkSecrets(
  job: CallJob,
  declared: readonly string[],
  required: readonly string[],
  say: Say,
): void {
  if (job.secrets === "inherit") return;
  if (job.secrets && job.secrets.kind !== "map") return;
  const given = job.secrets?.entries ?? [];
  const known = new Set(declared.map((s) => s.toLowerCase()));
  for (const [name, value] of given) {
    if (!known.has(name.toLowerCase()))
      say(`secrets.${name}: the called workflow declares no secret '${name}'`, value.at);
  }
  const named = new Set(given.map(([k]) => k.toLowerCase()));
  for (const secret of required) {
    if (!named.has(secret.toLowerCase()))
      say(`secrets: the called workflow requires secret '${secret}' (or secrets: inherit)`);
  }
}

import { isSequence, NoOperationTraceWriter } from "@actions/workflow-parser";
import { parseAction } from "@actions/workflow-parser/actions/action-parser";
import {
  type ActionTemplate,
  convertActionTemplate,
} from "@actions/workflow-parser/actions/action-template";
import { ErrorPolicy } from "@actions/workflow-parser/model/convert";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { type Diagnostic, diagnostic, sortDiagnostics } from "../common/diagnostic.js";
import { FILE_START } from "../common/position.js";
import { convertStep } from "./convert-jobs.js";
import { entriesOf, toTemplate } from "./from-token.js";
import { checkInputLimits } from "./input-limits.js";
import type { Step } from "./model.js";
import type { Template } from "./template.js";

/** An action's metadata (`action.yml`), as plain data. */
export interface ActionManifest {
  readonly name: string;
  readonly inputs: readonly ActionInput[];
  readonly outputs: readonly { readonly id: string; readonly value?: Template }[];
  readonly runs: ActionRuns;
}

/** One input of an action. */
export interface ActionInput {
  readonly id: string;
  readonly required: boolean;
  readonly default?: Template;
  readonly deprecationMessage?: string;
}

/** How an action runs. */
export type ActionRuns =
  | {
      readonly using: "node";
      /** node12, node16, node20 or node24: the Node major its scripts run on. */
      readonly version: string;
      readonly main: string;
      readonly pre?: string;
      readonly preIf: string;
      readonly post?: string;
      readonly postIf: string;
    }
  | { readonly using: "composite"; readonly steps: readonly Step[] }
  | {
      readonly using: "docker";
      /** `Dockerfile` (a path in the action) or `docker://image`. */
      readonly image: string;
      readonly entrypoint?: string;
      readonly preEntrypoint?: string;
      readonly preIf: string;
      readonly postEntrypoint?: string;
      readonly postIf: string;
      /** The container's arguments; may read `inputs`, evaluated when the step runs. */
      readonly args?: Template;
      /** Extra environment of the container; may read `inputs`. */
      readonly env?: Template;
    };

/** The result of reading an `action.yml`. */
export interface ReadActionResult {
  readonly action: ActionManifest | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and validates an action's metadata with the official parser. Never throws on user input. */
export function readAction(file: string, content: string): ReadActionResult {
  const refused = checkInputLimits(file, content);
  if (refused.length > 0) return { action: undefined, diagnostics: refused };
  const parsed = parseAction({ name: file, content }, new NoOperationTraceWriter());
  const diagnostics: Diagnostic[] = [];
  let template: ActionTemplate | undefined;
  if (parsed.value) {
    try {
      template = convertActionTemplate(parsed.context, parsed.value, {
        errorPolicy: ErrorPolicy.TryConversion,
      });
    } catch (err) {
      diagnostics.push(
        diagnostic(
          file,
          FILE_START,
          "action/internal",
          `could not read the action: ${String(err)}`,
        ),
      );
    }
  }
  for (const err of parsed.context.errors.getErrors()) {
    // The schema is the Marketplace's; the runner itself needs neither a name nor a description.
    if (/^Required property is missing: (name|description)$/.test(err.rawMessage)) continue;
    const start = err.range?.start;
    diagnostics.push(
      diagnostic(
        file,
        start ? { line: start.line, column: start.column } : FILE_START,
        "action/schema",
        err.rawMessage,
      ),
    );
  }
  if (!template?.runs || diagnostics.length > 0 || !parsed.value) {
    if (diagnostics.length === 0)
      diagnostics.push(diagnostic(file, FILE_START, "action/schema", "the action has no 'runs'"));
    return { action: undefined, diagnostics: sortDiagnostics(diagnostics) };
  }
  const runsToken = entriesOf(parsed.value).find(([k]) => k === "runs")?.[1];
  const runs = convertRuns(template.runs, runsToken);
  const action: ActionManifest = {
    name: template.name ?? file,
    inputs: (template.inputs ?? []).map((i) => ({
      id: i.id,
      required: i.required === true,
      ...(i.default !== undefined ? { default: toTemplate(i.default) } : {}),
      ...(i.deprecationMessage !== undefined ? { deprecationMessage: i.deprecationMessage } : {}),
    })),
    outputs: (template.outputs ?? []).map((o) => ({
      id: o.id,
      ...(o.value !== undefined ? { value: toTemplate(o.value) } : {}),
    })),
    runs,
  };
  return { action, diagnostics: [] };
}

function convertRuns(runs: ActionTemplate["runs"], token: TemplateToken | undefined): ActionRuns {
  if (runs.using === "composite") {
    const stepsToken = entriesOf(token).find(([k]) => k === "steps")?.[1];
    const steps: Step[] = [];
    if (stepsToken && isSequence(stepsToken)) {
      let index = 0;
      for (const item of stepsToken) {
        const upstream = runs.steps[index] as
          | { id: string; if?: { expression: string } }
          | undefined;
        steps.push(convertStep(item, upstream, index));
        index++;
      }
    }
    return { using: "composite", steps };
  }
  if (runs.using === "docker") {
    const part = (key: string) => entriesOf(token).find(([k]) => k === key)?.[1];
    const args = part("args");
    const env = part("env");
    return {
      using: "docker",
      image: runs.image,
      ...(runs.entrypoint !== undefined ? { entrypoint: runs.entrypoint } : {}),
      ...(runs.preEntrypoint !== undefined ? { preEntrypoint: runs.preEntrypoint } : {}),
      preIf: runs.preIf ?? "always()",
      ...(runs.postEntrypoint !== undefined ? { postEntrypoint: runs.postEntrypoint } : {}),
      postIf: runs.postIf ?? "always()",
      ...(args ? { args: toTemplate(args) } : {}),
      ...(env ? { env: toTemplate(env) } : {}),
    };
  }
  return {
    using: "node",
    version: runs.using,
    main: runs.main,
    ...(runs.pre !== undefined ? { pre: runs.pre } : {}),
    preIf: runs.preIf ?? "always()",
    ...(runs.post !== undefined ? { post: runs.post } : {}),
    postIf: runs.postIf ?? "always()",
  };
}

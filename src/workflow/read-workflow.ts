import { convertWorkflowTemplate, NoOperationTraceWriter } from "@actions/workflow-parser";
import { ErrorPolicy } from "@actions/workflow-parser/model/convert";
import type { WorkflowTemplate } from "@actions/workflow-parser/model/workflow-template";
import {
  TemplateContext,
  TemplateValidationErrors,
} from "@actions/workflow-parser/templates/template-context";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { parseWorkflow } from "@actions/workflow-parser/workflows/workflow-parser";
import { getWorkflowSchema } from "@actions/workflow-parser/workflows/workflow-schema";
import { type Diagnostic, diagnostic, sortDiagnostics } from "../common/diagnostic.js";
import { FILE_START } from "../common/position.js";
import { checkWorkflow } from "./check-workflow.js";
import { convertJobs } from "./convert-jobs.js";
import { convertTriggers } from "./convert-triggers.js";
import { entriesOf, textOf, toTemplate } from "./from-token.js";
import { checkInputLimits, DEFAULT_INPUT_LIMITS, type InputLimits } from "./input-limits.js";
import type { Workflow } from "./model.js";

/** The result of reading one workflow file: the model when it could be built, and every problem. */
export interface ReadWorkflowResult {
  readonly workflow: Workflow | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Enough room for every mistake in any sane file; the parser's default stops at 10. */
const MAX_PARSER_ERRORS = 1000;

/**
 * Reads one workflow file: guards against hostile input, parses and validates it with the
 * official parser, converts it into the model and runs Trunkline's own checks (filter
 * patterns, matrices, ...). Never throws on user input; every problem is a diagnostic.
 */
export async function readWorkflow(
  file: string,
  content: string,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Promise<ReadWorkflowResult> {
  const refused = checkInputLimits(file, content, limits);
  if (refused.length > 0) return { workflow: undefined, diagnostics: refused };

  const context = new TemplateContext(
    new TemplateValidationErrors(MAX_PARSER_ERRORS),
    getWorkflowSchema(),
    new NoOperationTraceWriter(),
  );
  const parsed = parseWorkflow({ name: file, content }, context);
  const diagnostics: Diagnostic[] = [];
  let converted: WorkflowTemplate | undefined;
  if (parsed.value) {
    try {
      converted = await convertWorkflowTemplate(context, parsed.value, undefined, {
        errorPolicy: ErrorPolicy.TryConversion,
      });
    } catch (err) {
      diagnostics.push(
        diagnostic(
          file,
          FILE_START,
          "workflow/internal",
          `could not convert the workflow: ${String(err)}`,
        ),
      );
    }
  }
  const places = new Set<string>();
  for (const err of context.errors.getErrors()) {
    const start = err.range?.start;
    const position = start ? { line: start.line, column: start.column } : FILE_START;
    // The parser sometimes adds a derived message at the very place of the first (a bad
    // `if:` is reported as written and again after `success() &&` is added); the first
    // one explains the mistake.
    const place = `${position.line}:${position.column}`;
    if (places.has(place)) continue;
    places.add(place);
    const yaml = !parsed.value;
    const message = yaml ? yamlMessage(err.rawMessage) : schemaMessage(err.rawMessage);
    diagnostics.push(
      diagnostic(file, position, yaml ? "workflow/yaml" : codeFor(message), message),
    );
  }
  if (!parsed.value || !converted)
    return { workflow: undefined, diagnostics: sortDiagnostics(diagnostics) };
  const workflow = buildWorkflow(file, parsed.value, converted);
  return { workflow, diagnostics: merge(diagnostics, checkWorkflow(workflow)) };
}

/**
 * Joins the parser's diagnostics with ours where they overlap: our cron check explains
 * field by field what the parser calls plain "invalid", and our unknown-needs check names
 * the missing job where the parser, seeing no job without needs, says only that.
 */
function merge(parser: Diagnostic[], ours: Diagnostic[]): Diagnostic[] {
  const place = (d: Diagnostic) => `${d.position.line}:${d.position.column}`;
  const explainedCron = new Set(ours.filter((d) => d.code === "workflow/cron").map(place));
  const unknownNeed = ours.some((d) => d.code === "workflow/unknown-need");
  const kept = parser.filter((d) => {
    if (d.code === "workflow/cron") return !explainedCron.has(place(d));
    if (d.code === "workflow/no-root-job") return !unknownNeed;
    return true;
  });
  return sortDiagnostics([...kept, ...ours]);
}

function buildWorkflow(file: string, root: TemplateToken, converted: WorkflowTemplate): Workflow {
  const fields = new Map(entriesOf(root).map(([k, v]) => [k, v] as const));
  const t = (key: string) => {
    const token = fields.get(key);
    return token ? { [camel(key)]: toTemplate(token) } : {};
  };
  return {
    file,
    name: textOf(fields.get("name")) ?? file,
    on: convertTriggers(fields.get("on")),
    ...t("run-name"),
    ...t("env"),
    ...t("defaults"),
    ...t("concurrency"),
    ...t("permissions"),
    jobs: convertJobs(fields.get("jobs"), converted.jobs ?? []),
  };
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The `yaml` library appends "at line L, column C:" and a source excerpt; the position says it already. */
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, "");
}

const TOKEN_NAMES: Readonly<Record<string, string>> = {
  StringToken: "a string",
  BooleanToken: "a boolean",
  NumberToken: "a number",
  MappingToken: "a mapping",
  SequenceToken: "a sequence",
  NullToken: "null",
  BasicExpressionToken: "an expression",
};

/** Rewrites the parser's token-class wording into words a workflow author uses. */
function schemaMessage(message: string): string {
  return message.replace(
    /^Unexpected type '(\w+)' encountered while reading '([^']+)'\. The type '(\w+)' was expected\.$/,
    (_, actual: string, what: string, expected: string) =>
      `${what} must be ${TOKEN_NAMES[expected] ?? expected}, not ${TOKEN_NAMES[actual] ?? actual}`,
  );
}

const CODES: readonly [RegExp, string][] = [
  [/depends on unknown job/, "workflow/unknown-need"],
  [/cycle in the dependency graph/, "workflow/need-cycle"],
  [/at least one job with no dependencies/, "workflow/no-root-job"],
  [/is already defined/, "workflow/duplicate-id"],
  [/cron/i, "workflow/cron"],
  [
    /expression|Unexpected symbol|Unrecognized named-value|Unrecognized function/i,
    "workflow/expression",
  ],
  [/may not be used more than once/, "workflow/duplicate-id"],
  [/^The identifier '.*' is invalid/, "workflow/invalid-id"],
];

function codeFor(message: string): string {
  for (const [pattern, code] of CODES) if (pattern.test(message)) return code;
  return "workflow/schema";
}

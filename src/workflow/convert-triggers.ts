import { isMapping, isSequence, isString } from "@actions/workflow-parser";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { entriesOf, stringList, textOf, tokenAt, toTemplate } from "./from-token.js";
import type {
  InputDefinition,
  InputType,
  PullRequestTrigger,
  PushTrigger,
  ScheduleTrigger,
  Triggers,
  WorkflowRunTrigger,
} from "./model.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Converts the `on:` token (string, list or mapping form) into {@link Triggers}. */
export function convertTriggers(token: TemplateToken | undefined): Triggers {
  const out: Mutable<Triggers> & { other: Record<string, { types?: string[] }> } = { other: {} };
  if (!token) return out;
  if (isString(token)) {
    addEvent(out, token.value, undefined);
  } else if (isSequence(token)) {
    for (const item of token) {
      const name = textOf(item);
      if (name) addEvent(out, name, undefined);
    }
  } else if (isMapping(token)) {
    for (const [name, value] of entriesOf(token)) addEvent(out, name, value);
  }
  return out;
}

function addEvent(
  out: Mutable<Triggers> & { other: Record<string, { types?: string[] }> },
  name: string,
  config: TemplateToken | undefined,
): void {
  const keys = new Map(entriesOf(config).map(([k, v]) => [k, v] as const));
  const list = (key: string) => (keys.has(key) ? stringList(keys.get(key)) : undefined);
  const types = keys.has("types") ? stringList(keys.get("types")).map((t) => t.value) : undefined;
  switch (name) {
    case "push": {
      const push: Mutable<PushTrigger> = {};
      assign(push, "branches", list("branches"));
      assign(push, "branchesIgnore", list("branches-ignore"));
      assign(push, "tags", list("tags"));
      assign(push, "tagsIgnore", list("tags-ignore"));
      assign(push, "paths", list("paths"));
      assign(push, "pathsIgnore", list("paths-ignore"));
      out.push = push;
      return;
    }
    case "pull_request":
    case "pull_request_target": {
      const pr: Mutable<PullRequestTrigger> = {};
      assign(pr, "types", types);
      assign(pr, "branches", list("branches"));
      assign(pr, "branchesIgnore", list("branches-ignore"));
      assign(pr, "paths", list("paths"));
      assign(pr, "pathsIgnore", list("paths-ignore"));
      out[name] = pr;
      return;
    }
    case "workflow_dispatch":
      out.workflow_dispatch = { inputs: convertInputs(keys.get("inputs")) };
      return;
    case "workflow_run": {
      const run: Mutable<WorkflowRunTrigger> = {
        workflows: stringList(keys.get("workflows")).map((w) => w.value),
      };
      assign(run, "types", types);
      assign(run, "branches", list("branches"));
      assign(run, "branchesIgnore", list("branches-ignore"));
      out.workflow_run = run;
      return;
    }
    case "workflow_call":
      out.workflow_call = {
        inputs: convertInputs(keys.get("inputs")),
        secrets: entriesOf(keys.get("secrets")).map(([k]) => k),
        requiredSecrets: entriesOf(keys.get("secrets"))
          .filter(([, v]) => textOf(fieldOf(v, "required")) === "true")
          .map(([k]) => k),
        outputs: entriesOf(keys.get("outputs")).map(([name, v]) => {
          const value = fieldOf(v, "value");
          return value ? { name, value: toTemplate(value) } : { name };
        }),
      };
      return;
    case "schedule":
      out.schedule = convertSchedule(config);
      return;
    default:
      out.other[name] = types ? { types } : {};
  }
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined) {
  if (value !== undefined) target[key] = value;
}

const INPUT_TYPES: readonly InputType[] = ["string", "boolean", "number", "choice", "environment"];

function convertInputs(token: TemplateToken | undefined): InputDefinition[] {
  return entriesOf(token).map(([name, value, key]) => {
    const fields = new Map(entriesOf(value).map(([k, v]) => [k, v] as const));
    const rawType = textOf(fields.get("type")) ?? "string";
    const type = (INPUT_TYPES as readonly string[]).includes(rawType)
      ? (rawType as InputType)
      : "string";
    const input: Mutable<InputDefinition> = {
      name,
      type,
      required: textOf(fields.get("required")) === "true",
      at: tokenAt(key),
    };
    const description = textOf(fields.get("description"));
    if (description !== undefined) input.description = description;
    const def = fields.get("default");
    const defText = textOf(def);
    if (def && defText !== undefined) {
      const raw = (def as unknown as { value: unknown }).value;
      input.default = typeof raw === "boolean" || typeof raw === "number" ? raw : defText;
    }
    if (fields.has("options"))
      input.options = stringList(fields.get("options")).map((o) => o.value);
    return input;
  });
}

function convertSchedule(token: TemplateToken | undefined): ScheduleTrigger[] {
  if (!token || !isSequence(token)) return [];
  const out: ScheduleTrigger[] = [];
  for (const item of token) {
    const fields = new Map(entriesOf(item).map(([k, v]) => [k, v] as const));
    const cron = fields.get("cron");
    const text = textOf(cron);
    if (text === undefined) continue;
    const timezone = textOf(fields.get("timezone"));
    out.push(
      timezone ? { cron: text, timezone, at: tokenAt(cron) } : { cron: text, at: tokenAt(cron) },
    );
  }
  return out;
}

/** A field of a mapping token, if it is one and has it. */
function fieldOf(token: TemplateToken | undefined, key: string): TemplateToken | undefined {
  return entriesOf(token).find(([k]) => k === key)?.[1];
}

import type { WorkflowJob } from "@actions/workflow-parser/model/workflow-template";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { entriesOf, stringList, textOf, tokenAt, toTemplate } from "./from-token.js";
import type { Job, Step } from "./model.js";
import type { Template } from "./template.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Converts the `jobs:` mapping into the model. `converted` is the official converter's view
 * of the same jobs; it supplies what GitHub derives (the implicit `success() &&` in `if:`,
 * generated step ids) so those rules live in one place, upstream.
 */
export function convertJobs(
  jobsToken: TemplateToken | undefined,
  converted: readonly WorkflowJob[],
): Job[] {
  const byId = new Map(converted.map((j) => [j.id.value, j] as const));
  const jobs: Job[] = [];
  const seen = new Set<string>();
  for (const [id, body, key] of entriesOf(jobsToken)) {
    if (seen.has(id)) continue; // reported by the parser as a duplicate
    seen.add(id);
    jobs.push(convertJob(id, body, key, byId.get(id)));
  }
  return jobs;
}

function convertJob(
  id: string,
  body: TemplateToken,
  key: TemplateToken,
  upstream: WorkflowJob | undefined,
): Job {
  const fields = new Map(entriesOf(body).map(([k, v]) => [k, v] as const));
  const t = (name: string): Template | undefined => {
    const token = fields.get(name);
    return token ? toTemplate(token) : undefined;
  };
  const base = {
    id,
    at: tokenAt(key),
    needs: stringList(fields.get("needs")),
    if: upstream?.if?.expression ?? "success()",
    ...optional("ifAt", fields.has("if") ? tokenAt(fields.get("if")) : undefined),
    ...optional("name", t("name")),
    ...optional("strategy", t("strategy")),
    ...optional("concurrency", t("concurrency")),
    ...optional("outputs", t("outputs")),
    ...optional("permissions", t("permissions")),
  };
  const uses = textOf(fields.get("uses"));
  if (uses !== undefined) {
    const secrets = fields.get("secrets");
    return {
      kind: "call",
      ...base,
      uses,
      ...optional("with", t("with")),
      ...optional<"secrets", Template | "inherit">(
        "secrets",
        textOf(secrets) === "inherit" ? "inherit" : t("secrets"),
      ),
    };
  }
  const upstreamSteps = upstream?.type === "job" ? upstream.steps : [];
  const steps: Step[] = [];
  const stepsToken = fields.get("steps");
  let index = 0;
  if (stepsToken && "count" in stepsToken) {
    for (const item of stepsToken as unknown as Iterable<TemplateToken>) {
      steps.push(convertStep(item, upstreamSteps[index], index));
      index++;
    }
  }
  return {
    kind: "steps",
    ...base,
    ...optional("runsOn", t("runs-on")),
    ...optional("environment", t("environment")),
    ...optional("env", t("env")),
    ...optional("defaults", t("defaults")),
    ...optional("container", t("container")),
    ...optional("services", t("services")),
    ...optional("timeoutMinutes", t("timeout-minutes")),
    ...optional("continueOnError", t("continue-on-error")),
    steps,
  };
}

/**
 * Converts one step token; `upstream` is the official converter's view of it (for the
 * implicit `success() &&` and the generated id).
 */
export function convertStep(
  token: TemplateToken,
  upstream: { id: string; if?: { expression: string } } | undefined,
  index: number,
): Step {
  const fields = new Map(entriesOf(token).map(([k, v]) => [k, v] as const));
  const t = (name: string): Template | undefined => {
    const v = fields.get(name);
    return v ? toTemplate(v) : undefined;
  };
  const explicitId = textOf(fields.get("id"));
  const step: Mutable<Step> = {
    id: explicitId ?? upstream?.id ?? `__step_${index + 1}`,
    hasExplicitId: explicitId !== undefined,
    at: tokenAt(token),
    if: upstream?.if?.expression ?? "success()",
  };
  const name = t("name");
  if (name) step.name = name;
  const run = fields.get("run");
  if (run) {
    step.run = toTemplate(run);
    step.runAt = tokenAt(run);
  }
  const usesToken = fields.get("uses");
  const uses = textOf(usesToken);
  if (uses !== undefined && usesToken) {
    step.uses = uses;
    step.usesAt = tokenAt(usesToken);
  }
  const shell = textOf(fields.get("shell"));
  if (shell !== undefined) step.shell = shell;
  for (const [key, prop] of [
    ["with", "with"],
    ["env", "env"],
    ["working-directory", "workingDirectory"],
    ["continue-on-error", "continueOnError"],
    ["timeout-minutes", "timeoutMinutes"],
  ] as const) {
    const value = t(key);
    if (value) step[prop] = value;
  }
  return step;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import { contextsUsed } from "../expressions/evaluate.js";
import { decideCondition } from "../planner/job-condition.js";
import { githubContext } from "../triggers/event.js";
import type { Job, Step, Workflow } from "../workflow/model.js";
import { mapGet, type Template } from "../workflow/template.js";

/**
 * Text an outsider controls: whoever opens an issue, a pull request or pushes a branch
 * chooses it. From GitHub's security hardening guide ("Understanding the risk of script
 * injections"), plus `github.head_ref`.
 */
const UNTRUSTED: readonly RegExp[] = [
  /\bgithub\.head_ref\b/,
  /\bgithub\.event\.(?:issue|pull_request|discussion)\.(?:title|body)\b/,
  /\bgithub\.event\.(?:comment|review|review_comment)\.body\b/,
  /\bgithub\.event\.pages\b[^\s,)]*\.page_name\b/,
  /\bgithub\.event\.commits\b[^\s,)]*\.(?:message|author\.(?:email|name))\b/,
  /\bgithub\.event\.head_commit\.(?:message|author\.(?:email|name))\b/,
  /\bgithub\.event\.pull_request\.head\.(?:ref|label|repo\.default_branch)\b/,
  /\bgithub\.event\.workflow_run\.(?:head_branch|head_commit\.message|display_title)\b/,
];

const PR_HEAD = /\bgithub\.(?:head_ref|event\.pull_request\.head\.(?:sha|ref))\b|refs\/pull\//;
const SECRET = /\bsecrets\.(\w+)/g;
const STATIC_CONTEXTS = new Set(["github", "inputs", "vars"]);

/** The contexts of a run for a pull request from a fork, to ask whether a job or step can run in one. */
const FORK_PR_CONTEXTS = {
  github: githubContext({
    name: "pull_request",
    ref: "refs/pull/1/merge",
    sha: "0".repeat(40),
    baseRef: "main",
    headRef: "patch-1",
    repository: "owner/repository",
    payload: {
      action: "opened",
      pull_request: {
        number: 1,
        base: { ref: "main", repo: { full_name: "owner/repository", fork: false } },
        head: {
          ref: "patch-1",
          sha: "0".repeat(40),
          repo: { full_name: "someone/repository", fork: true },
        },
      },
    },
  }),
  inputs: {},
  vars: {},
};

/**
 * Warns about dangerous patterns, each at its place: untrusted event text interpolated into
 * a script (script injection), `pull_request_target` checking out the pull request's head,
 * and secrets handed to steps that can run for pull requests from forks (a step whose
 * conditions rule that out, e.g. a tag-only deploy, is not reported).
 */
export function lintSecurity(workflow: Workflow): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (at: Step["at"], code: string, message: string) =>
    out.push(diagnostic(workflow.file, at, `security/${code}`, message, "warning"));
  const prTarget = workflow.on.pull_request_target !== undefined;
  const prEvent = workflow.on.pull_request !== undefined;
  for (const job of workflow.jobs) {
    if (job.kind !== "steps") continue;
    for (const step of job.steps) {
      for (const [where, script] of scripts(step)) {
        for (const part of located(script)) {
          const text = stripStrings(part.expr);
          const found = UNTRUSTED.map((re) => text.match(re)?.[0]).find((m) => m !== undefined);
          if (found) {
            warn(
              part.at ?? step.at,
              "script-injection",
              `'${found}' is interpolated into ${where}, where its text can inject commands; pass it through env: and use the quoted variable`,
            );
          }
        }
      }
      if (prTarget && isCheckout(step)) {
        const ref = mapGet(step.with, "ref");
        if (ref && expressionsIn(ref).some((e) => PR_HEAD.test(e))) {
          warn(
            ref.at ?? step.at,
            "pr-target-checkout",
            "pull_request_target checks out the pull request's head: its code then runs with this repository's secrets and write token",
          );
        }
      }
      if ((prEvent || prTarget) && canRunForForks(job, step)) {
        for (const name of secretsUsed(step)) {
          warn(
            step.at,
            "fork-secrets",
            prTarget
              ? `secrets.${name} reaches a step of a pull_request_target workflow, which forks' pull requests trigger with this repository's secrets`
              : `secrets.${name} is passed to a step on pull_request: runs for pull requests from forks get no secrets (guard with 'github.event.pull_request.head.repo.fork == false')`,
          );
        }
      }
    }
  }
  return out;
}

function scripts(step: Step): [string, Template][] {
  const out: [string, Template][] = [];
  if (step.run) out.push(["a run script", step.run]);
  const script = mapGet(step.with, "script");
  if (script && step.uses?.startsWith("actions/github-script"))
    out.push(["a github-script script", script]);
  return out;
}

function isCheckout(step: Step): boolean {
  return step.uses?.toLowerCase().startsWith("actions/checkout@") ?? false;
}

/**
 * Whether the job and step can run for a fork's pull request: their `if:` conditions are
 * tried against such an event; only a condition that is surely false rules the step out.
 */
function canRunForForks(job: Job, step: Step): boolean {
  const unknownNeeds = {
    someSkipped: false,
    someFail: false,
    someUnknown: job.needs.length > 0,
    skippedNames: [],
  };
  if (decideCondition(job.if, FORK_PR_CONTEXTS, unknownNeeds).kind === "false") return false;
  let used: Set<string>;
  try {
    used = contextsUsed(step.if);
  } catch {
    return true;
  }
  // A step condition that reads run-time state (steps, env, matrix, ...) cannot be ruled out.
  if ([...used].some((c) => !STATIC_CONTEXTS.has(c))) return true;
  return (
    decideCondition(step.if, FORK_PR_CONTEXTS, { ...unknownNeeds, someUnknown: true }).kind !==
    "false"
  );
}

function secretsUsed(step: Step): string[] {
  const names = new Set<string>();
  for (const t of [step.env, step.with, step.run]) {
    for (const expr of t ? expressionsIn(t) : []) {
      for (const m of expr.matchAll(SECRET)) if (m[1] && m[1] !== "GITHUB_TOKEN") names.add(m[1]);
    }
  }
  return [...names];
}

/** Each expression of a template as written, with its place when known. */
function located(t: Template): { expr: string; at: Template["at"] }[] {
  if (t.kind === "expr") return t.parts ? [...t.parts] : [{ expr: t.expr, at: t.at }];
  if (t.kind === "seq") return t.items.flatMap(located);
  if (t.kind === "map") return t.entries.flatMap(([, v]) => located(v));
  return [];
}

/** Every expression text inside a template. */
function expressionsIn(t: Template): string[] {
  switch (t.kind) {
    case "expr":
      return [t.expr];
    case "seq":
      return t.items.flatMap(expressionsIn);
    case "map":
      return t.entries.flatMap(([, v]) => expressionsIn(v));
    default:
      return [];
  }
}

/** Removes quoted string literals, so text inside them is not taken for a context access. */
function stripStrings(expr: string): string {
  return expr.replace(/'(?:[^']|'')*'/g, "''");
}

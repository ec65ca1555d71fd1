import {
  compileFilterPattern,
  type FilterPattern,
  isPattern,
  matchesIncludeList,
} from "../workflow/filter-pattern.js";
import type {
  PatternList,
  PullRequestTrigger,
  PushTrigger,
  Workflow,
  WorkflowRunTrigger,
} from "../workflow/model.js";
import { DEFAULT_PULL_REQUEST_TYPES, parseRef, type TriggerEvent } from "./event.js";
import { skipRequest } from "./skip-request.js";

/** Whether a workflow fires for an event, and the reason in words. */
export interface TriggerMatch {
  readonly fires: boolean;
  readonly reason: string;
}

/**
 * Decides whether `workflow` fires for `event`, with GitHub's semantics: a bare `push` fires
 * for branches and tags; a push with only branch filters ignores tags and vice versa; path
 * filters apply to branch pushes and pull requests but not to tag pushes; a `pull_request`
 * listens to opened, synchronize and reopened unless `types:` says otherwise; a head commit
 * whose message says `[skip ci]` (or another of GitHub's skip commands) fires neither `push`
 * nor `pull_request` workflows.
 */
export function matchWorkflow(workflow: Workflow, event: TriggerEvent): TriggerMatch {
  const on = workflow.on;
  const skip = event.name === "push" || event.name === "pull_request";
  const skipped = skip ? skipRequest(event.headCommitMessage) : undefined;
  switch (event.name) {
    case "push":
      if (!on.push) return no("does not listen to push");
      return skipped ? no(`the head commit's message says ${skipped}`) : matchPush(on.push, event);
    case "pull_request":
    case "pull_request_target": {
      const trigger = on[event.name];
      if (!trigger) return no(`does not listen to ${event.name}`);
      return skipped
        ? no(`the head commit's message says ${skipped}`)
        : matchPullRequest(trigger, event);
    }
    case "workflow_dispatch":
      return on.workflow_dispatch
        ? yes("workflow_dispatch")
        : no("does not listen to workflow_dispatch");
    case "schedule": {
      const crons = on.schedule ?? [];
      if (crons.length === 0) return no("has no schedule");
      if (event.cron && !crons.some((c) => c.cron === event.cron))
        return no(`has no schedule '${event.cron}'`);
      return yes(`schedule ${event.cron ?? crons.map((c) => c.cron).join(", ")}`);
    }
    case "workflow_call":
      return on.workflow_call ? yes("workflow_call") : no("is not a reusable workflow");
    case "workflow_run":
      return on.workflow_run
        ? matchWorkflowRun(on.workflow_run, event)
        : no("does not listen to workflow_run");
    default: {
      const other = on.other[event.name];
      if (!other) return no(`does not listen to ${event.name}`);
      if (other.types && event.action && !other.types.includes(event.action)) {
        return no(`listens to ${event.name} types ${other.types.join(", ")}, not ${event.action}`);
      }
      return yes(event.name);
    }
  }
}

/** The activity types of `workflow_run`; a trigger without `types:` listens to all of them. */
const WORKFLOW_RUN_TYPES = ["requested", "in_progress", "completed"];

function matchWorkflowRun(trigger: WorkflowRunTrigger, event: TriggerEvent): TriggerMatch {
  const action = event.action ?? "completed";
  const types = trigger.types ?? WORKFLOW_RUN_TYPES;
  if (!types.includes(action))
    return no(`workflow_run listens to ${types.join(", ")}, not ${action}`);
  const run = event.workflowRun;
  if (!run) return no("workflow_run: the triggering run is not known");
  if (!trigger.workflows.includes(run.name))
    return no(`listens to runs of ${trigger.workflows.join(", ")}, not of ${run.name}`);
  if (trigger.branches !== undefined || trigger.branchesIgnore !== undefined) {
    if (run.headBranch === undefined)
      return no("workflow_run filters branches, and the triggering run has no branch");
    const branches = matchRefFilters(
      "branch",
      run.headBranch,
      trigger.branches,
      trigger.branchesIgnore,
    );
    if (!branches.fires) return branches;
  }
  return yes(`workflow_run of ${run.name} ${action}`);
}

function matchPush(trigger: PushTrigger, event: TriggerEvent): TriggerMatch {
  const ref = parseRef(event.ref);
  const hasBranchFilter = trigger.branches !== undefined || trigger.branchesIgnore !== undefined;
  const hasTagFilter = trigger.tags !== undefined || trigger.tagsIgnore !== undefined;
  if (ref.type === "tag") {
    if (!hasTagFilter && hasBranchFilter)
      return no(`push filters branches only; tag ${ref.name} is ignored`);
    const tags = matchRefFilters("tag", ref.name, trigger.tags, trigger.tagsIgnore);
    if (!tags.fires) return tags;
    return yes(`push of tag ${ref.name}`); // path filters do not apply to tag pushes
  }
  if (ref.type !== "branch") return no(`push of ${event.ref} is neither a branch nor a tag`);
  if (!hasBranchFilter && hasTagFilter)
    return no(`push filters tags only; branch ${ref.name} is ignored`);
  const branches = matchRefFilters("branch", ref.name, trigger.branches, trigger.branchesIgnore);
  if (!branches.fires) return branches;
  return matchPaths(trigger, event, `push to ${ref.name}`);
}

function matchPullRequest(trigger: PullRequestTrigger, event: TriggerEvent): TriggerMatch {
  const action = event.action ?? "opened";
  const types = trigger.types ?? DEFAULT_PULL_REQUEST_TYPES;
  if (!types.includes(action))
    return no(`${event.name} listens to ${types.join(", ")}, not ${action}`);
  const base = event.baseRef ?? "";
  const branches = matchRefFilters("base branch", base, trigger.branches, trigger.branchesIgnore);
  if (!branches.fires) return branches;
  return matchPaths(trigger, event, `${event.name} ${action} into ${base}`);
}

function matchRefFilters(
  what: string,
  name: string,
  include: PatternList | undefined,
  ignore: PatternList | undefined,
): TriggerMatch {
  if (include && !matchesIncludeList(compile(include), name)) {
    return no(`${what} ${name} matches none of ${list(include)}`);
  }
  if (ignore && matchesIncludeList(compile(ignore), name)) {
    return no(`${what} ${name} is ignored by ${list(ignore)}`);
  }
  return yes(`${what} ${name}`);
}

function matchPaths(
  trigger: { paths?: PatternList; pathsIgnore?: PatternList },
  event: TriggerEvent,
  what: string,
): TriggerMatch {
  if (!trigger.paths && !trigger.pathsIgnore) return yes(what);
  const files = event.changedFiles;
  if (files === undefined) return yes(`${what} (path filters not checked: changed files unknown)`);
  if (trigger.pathsIgnore) {
    const ignore = compile(trigger.pathsIgnore);
    if (files.every((f) => matchesIncludeList(ignore, f))) {
      return no(`every changed file is ignored by paths-ignore ${list(trigger.pathsIgnore)}`);
    }
  }
  if (trigger.paths) {
    const include = compile(trigger.paths);
    const hit = files.find((f) => matchesIncludeList(include, f));
    if (!hit) return no(`no changed file matches paths ${list(trigger.paths)}`);
    return yes(`${what}, ${hit} matches paths`);
  }
  return yes(what);
}

/** Invalid patterns were reported by validation; here they simply match nothing. */
function compile(list: PatternList): FilterPattern[] {
  return list.map((p) => compileFilterPattern(p.value)).filter(isPattern);
}

function list(patterns: PatternList): string {
  return `[${patterns.map((p) => p.value).join(", ")}]`;
}

function yes(reason: string): TriggerMatch {
  return { fires: true, reason };
}

function no(reason: string): TriggerMatch {
  return { fires: false, reason };
}

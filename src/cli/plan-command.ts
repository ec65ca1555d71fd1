import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { formatDiagnostic } from "../common/diagnostic.js";
import { InputError } from "../common/errors.js";
import { DEFAULT_LABELS } from "../executors/host/host-labels.js";
import { planRun } from "../planner/plan-run.js";
import type { TriggerEvent } from "../triggers/event.js";
import { type ActionFlags, localActionStore } from "./action-flags.js";
import { type ActionCheck, checkActions } from "./check-actions.js";
import { changedFiles, commitMessage, repoInfo } from "./git.js";
import { loadRepo } from "./load-repo.js";
import { planToJson, renderPlan } from "./render-plan.js";
import type { Output } from "./terminal.js";

/** Options of `trunkline plan`, as parsed from the command line. */
export interface PlanOptions {
  readonly cwd: string;
  readonly event: string;
  readonly ref?: string;
  readonly sha?: string;
  readonly before?: string;
  readonly changedFiles?: readonly string[];
  readonly input: Readonly<Record<string, string>>;
  readonly vars: Readonly<Record<string, string>>;
  readonly eventFile?: string;
  readonly action?: string;
  readonly base?: string;
  readonly head?: string;
  readonly cron?: string;
  readonly workflows: readonly string[];
  readonly json: boolean;
  /** Where remote actions come from; without it, they are not looked up. */
  readonly actionSources?: ActionFlags;
  /** Extra labels this host answers to (`--label`). */
  readonly labels?: readonly string[];
  /** `-P LABEL=host|IMAGE`: labels this host serves, on itself or in a job container. */
  readonly platforms?: Readonly<Record<string, string>>;
}

const ZERO_SHA = "0".repeat(40);

/**
 * `trunkline plan`: which workflows an event triggers and what becomes of each job. Returns
 * the exit code: 0, or 1 when a workflow has errors or a triggered workflow cannot start.
 */
export async function planCommand(options: PlanOptions, io: Output): Promise<number> {
  const repo = await loadRepo(options.cwd, options.workflows);
  const errors = repo.diagnostics.filter((d) => d.severity === "error");
  for (const d of errors) io.err(io.errColors.red(formatDiagnostic(d)));
  const event = await buildEvent(options);
  const plan = planRun(repo.workflows, event, { config: repo.config, vars: options.vars });
  const firing = new Set(plan.workflows.filter((w) => w.fires).map((w) => w.file));
  const actions = options.actionSources
    ? await checkActions(
        repo.workflows.filter((w) => firing.has(w.file)),
        localActionStore(options.actionSources),
        options.cwd,
      )
    : [];
  // Jobs whose runs-on labels nothing here serves (this host's labels, --label, -P and the
  // config's platforms): a local run would fail them.
  const served = new Set(
    [
      ...DEFAULT_LABELS,
      ...(options.labels ?? []),
      ...Object.keys({ ...repo.config.platforms, ...options.platforms }),
    ].map((l) => l.toLowerCase()),
  );
  const unservable = new Map<string, string[]>();
  for (const wf of plan.workflows.filter((w) => w.fires))
    for (const job of wf.jobs) {
      const missing = (job.runsOn ?? []).filter((l) => !served.has(l.toLowerCase()));
      if (missing.length > 0) unservable.set(`${wf.file} / ${job.key}`, missing);
    }
  if (options.json)
    io.out(
      JSON.stringify(
        {
          ...(planToJson(plan, unservable) as object),
          actions: actions.map(actionToJson),
        },
        null,
        2,
      ),
    );
  else {
    io.out(renderPlan(plan, io.colors, unservable));
    if (actions.length > 0) io.out(renderActions(actions, io.colors));
  }
  const blocked = plan.workflows.some((w) => w.errors.length > 0);
  return errors.length > 0 || blocked ? 1 : 0;
}

/** The remote actions of the triggered workflows: where each resolves, or why it cannot. */
function renderActions(actions: readonly ActionCheck[], c: Output["colors"]): string {
  const lines = ["", c.bold("Actions")];
  const seen = new Set<string>();
  for (const a of actions) {
    if (seen.has(a.uses)) continue;
    seen.add(a.uses);
    if (a.error) lines.push(`  ${c.red("✗")} ${a.uses}: ${c.red(a.error)}`);
    else lines.push(`  ${c.green("✓")} ${a.uses}${a.commit ? c.dim(` (SHA:${a.commit})`) : ""}`);
  }
  return lines.join("\n");
}

function actionToJson(a: ActionCheck) {
  return {
    uses: a.uses,
    file: a.file,
    line: a.position.line,
    column: a.position.column,
    ...(a.commit ? { commit: a.commit } : {}),
    ...(a.error ? { error: a.error } : {}),
  };
}

/** Builds the event from flags, an optional webhook payload file and the git repository. */
export async function buildEvent(options: PlanOptions): Promise<TriggerEvent> {
  const payload = options.eventFile
    ? await readPayload(resolve(options.cwd, options.eventFile))
    : undefined;
  const pr = payload?.pull_request as
    | { base?: { ref?: string }; head?: { ref?: string; sha?: string }; number?: number }
    | undefined;
  const isPr = options.event.startsWith("pull_request");
  const ref =
    normaliseRef(options.ref) ??
    (typeof payload?.ref === "string" ? payload.ref : undefined) ??
    (isPr && pr?.number !== undefined ? `refs/pull/${pr.number}/merge` : undefined) ??
    (await repoInfo(options.cwd))?.ref ??
    "refs/heads/main";
  const sha =
    options.sha ??
    (typeof payload?.after === "string" ? payload.after : undefined) ??
    pr?.head?.sha ??
    (await repoInfo(options.cwd))?.sha ??
    ZERO_SHA;
  let files = options.changedFiles?.length ? [...options.changedFiles] : payloadFiles(payload);
  if (!files && options.before) {
    files = await changedFiles(options.cwd, options.before, sha);
    if (!files)
      throw new InputError(`--before ${options.before}: git cannot diff it against ${sha}`);
  }
  const action =
    options.action ?? (typeof payload?.action === "string" ? payload.action : undefined);
  const baseRef = options.base ?? pr?.base?.ref ?? (isPr ? "main" : undefined);
  const headRef = options.head ?? pr?.head?.ref;
  // GitHub reads [skip ci] from the pushed commit or the pull request's head.
  const headCommit = payload?.head_commit as { message?: unknown } | undefined;
  const headCommitMessage =
    options.event === "push" || options.event === "pull_request"
      ? typeof headCommit?.message === "string"
        ? headCommit.message
        : await commitMessage(options.cwd, isPr ? (pr?.head?.sha ?? sha) : sha)
      : undefined;
  const triggering = payload?.workflow_run as { name?: unknown; head_branch?: unknown } | undefined;
  const workflowRun =
    options.event === "workflow_run" && typeof triggering?.name === "string"
      ? {
          name: triggering.name,
          ...(typeof triggering.head_branch === "string"
            ? { headBranch: triggering.head_branch }
            : {}),
        }
      : undefined;
  return {
    name: options.event,
    ref,
    sha,
    ...(workflowRun ? { workflowRun } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(baseRef !== undefined ? { baseRef } : {}),
    ...(headRef !== undefined ? { headRef } : {}),
    ...(files ? { changedFiles: files } : {}),
    ...(options.event === "workflow_dispatch"
      ? { inputs: { ...payloadInputs(payload), ...options.input } }
      : {}),
    ...(options.cron ? { cron: options.cron } : {}),
    ...(headCommitMessage !== undefined ? { headCommitMessage } : {}),
    ...(payload ? { payload } : {}),
  };
}

/**
 * A `workflow_dispatch` payload's `inputs`, as the strings `--input` gives (GitHub's payload
 * may carry booleans and numbers); `--input` flags win over them.
 */
function payloadInputs(payload: Record<string, unknown> | undefined): Record<string, string> {
  const inputs = payload?.inputs;
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) return {};
  return Object.fromEntries(
    Object.entries(inputs as Record<string, unknown>)
      .filter(([, v]) => v !== null && typeof v !== "object")
      .map(([k, v]) => [k, String(v)]),
  );
}

/** `main` means `refs/heads/main`; full refs pass through. */
function normaliseRef(ref: string | undefined): string | undefined {
  if (ref === undefined) return undefined;
  return ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
}

async function readPayload(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new InputError(`--event-file ${path}: no such file`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new Error("not a JSON object");
    return value as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`--event-file ${path}: ${(err as Error).message}`);
  }
}

/** Changed files of a push payload: the union of its commits' added, modified and removed lists. */
function payloadFiles(payload: Record<string, unknown> | undefined): string[] | undefined {
  const commits = payload?.commits;
  if (!Array.isArray(commits)) return undefined;
  const files = new Set<string>();
  for (const commit of commits as Record<string, unknown>[]) {
    for (const key of ["added", "modified", "removed"]) {
      const list = commit[key];
      if (Array.isArray(list)) for (const f of list) if (typeof f === "string") files.add(f);
    }
  }
  return [...files];
}

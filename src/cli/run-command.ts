import { createHash, randomUUID } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { formatDiagnostic } from "../common/diagnostic.js";
import { InputError, TrunklineError } from "../common/errors.js";
import type { JobSpec } from "../compiler/job-spec.js";
import { type EngineWorkflow, executeRun, type RunResult } from "../engine/run-engine.js";
import type { RunEvent } from "../engine/run-events.js";
import { chooseExecutor } from "../executors/choose-executor.js";
import { findEngine } from "../executors/container/engine.js";
import type { Executor } from "../executors/executor.js";
import { DEFAULT_LABELS } from "../executors/host/host-labels.js";
import { RunLog } from "../logs/run-log.js";
import { resolveDispatchInputs } from "../planner/dispatch-inputs.js";
import { planRun } from "../planner/plan-run.js";
import { ActionResolver } from "../runner/actions/action-resolver.js";
import { type JobResult, runJob } from "../runner/job-runner.js";
import { writeEventFile } from "../runner/step-env.js";
import { startLocalRuntime } from "../runtime/local-runtime.js";
import { oidcClaims } from "../runtime/oidc.js";
import { NodeRuntimes } from "../toolcache/node-runtimes.js";
import { nodeSources } from "../toolcache/node-sources.js";
import type { TriggerEvent } from "../triggers/event.js";
import type { Job, Workflow } from "../workflow/model.js";
import {
  ACTIONS_TOKEN_SECRET,
  type ActionFlags,
  localActionStore,
  pythonInstalls,
} from "./action-flags.js";
import { calledWorkflowLoader } from "./called-workflows.js";
import { MAX_LOCAL_CHAIN, workflowRunEvent } from "./chained-runs.js";
import { stateDir } from "./data-dir.js";
import { parseDotenv } from "./dotenv.js";
import { repoInfo, resolveCommit, workingTreeCommit } from "./git.js";
import { loadRepo } from "./load-repo.js";
import { buildEvent, type PlanOptions } from "./plan-command.js";
import { RunView } from "./run-view.js";
import { exportSource, seedWorkspace } from "./run-workspace.js";
import type { Output } from "./terminal.js";

/** Options of `trunkline run`. */
export interface RunOptions extends PlanOptions {
  readonly jobs: readonly string[];
  readonly parallel: number;
  readonly secretFiles: readonly string[];
  readonly secrets: readonly string[];
  readonly approve: readonly string[];
  readonly labels: readonly string[];
  readonly runDir?: string;
  readonly keep: boolean;
  /** Where remote actions come from. */
  readonly actionSources: ActionFlags;
  /** `--commit REF`: run that commit alone (its workflows and files), not the working tree. */
  readonly commit?: string;
  /** `-P LABEL=host|IMAGE`: runs-on labels this host serves, on itself or in a job container. */
  readonly platforms?: Readonly<Record<string, string>>;
  /** `--matrix key:value`: the matrix legs to run. */
  readonly matrix?: Readonly<Record<string, readonly string[]>>;
  /** Go on to the workflows that listen to this run's workflows (`on: workflow_run`). */
  readonly chain: boolean;
}

/** Exit code of a cancelled run, as for a process ended by Ctrl-C. */
export const CANCELLED_EXIT_CODE = 130;

/**
 * `trunkline run`: plans the event, then runs every job that should run on this machine
 * with the engine and the host runner. Returns the exit code: 0 when the run succeeded,
 * 1 when it failed, 130 when it was cancelled.
 */
export async function runCommand(
  options: RunOptions,
  io: Output,
  cancel: AbortSignal,
): Promise<number> {
  // --commit: the workflows and the job's files are that commit's; else the working tree's.
  let committed: { sha: string; files: string } | undefined;
  if (options.commit !== undefined) {
    const sha = await resolveCommit(options.cwd, options.commit);
    if (!sha) throw new InputError(`--commit ${options.commit}: no such commit in ${options.cwd}`);
    const files = await mkdtemp(join(tmpdir(), "trunkline-commit-"));
    await exportSource(options.cwd, sha, files);
    committed = { sha, files };
  }
  const repo = await loadRepo(committed?.files ?? options.cwd, options.workflows);
  const errors = repo.diagnostics.filter((d) => d.severity === "error");
  for (const d of errors) io.err(io.errColors.red(formatDiagnostic(d)));
  if (errors.length > 0) return 1;
  const event = await buildEvent(committed ? { ...options, sha: committed.sha } : options);
  // The working tree with its uncommitted changes, as a commit on HEAD made for this run:
  // what the jobs get (and what checkout of the run's commit gives), github.sha staying HEAD.
  const head = (await repoInfo(options.cwd))?.sha;
  const dirty =
    !committed && head !== undefined && event.sha === head
      ? await workingTreeCommit(options.cwd, head)
      : undefined;
  if (dirty)
    io.err(
      `trunkline: running the working tree: ${dirty.changed} path(s) differ from ${head?.slice(0, 12)} (uncommitted changes included; --commit HEAD runs the commit alone)`,
    );
  const plan = planRun(repo.workflows, event, { config: repo.config, vars: options.vars });
  const firing: EngineWorkflow[] = [];
  for (const wf of repo.workflows) {
    const planned = plan.workflows.find((p) => p.file === wf.file);
    if (!planned?.fires) continue;
    if (planned.errors.length > 0) {
      for (const e of planned.errors) io.err(`${wf.file}: ${e}`);
      return 1;
    }
    const inputs =
      event.name === "workflow_dispatch"
        ? resolveDispatchInputs(wf.on.workflow_dispatch?.inputs ?? [], event.inputs ?? {})
        : undefined;
    firing.push({ workflow: wf, inputs: inputs?.ok ? inputs.inputs : {} });
  }
  if (options.jobs.length > 0) {
    const known = new Set(firing.flatMap((f) => f.workflow.jobs.map((j) => j.id)));
    const unknown = options.jobs.filter((j) => !known.has(j));
    if (unknown.length > 0)
      throw new InputError(
        `-j ${unknown.join(", ")}: no such job in the workflows this event triggers`,
      );
  }
  if (firing.length === 0) {
    io.out(`No workflow is triggered by ${event.name} ${event.ref}.`);
    return 0;
  }
  // Jobs that need a container engine find it (and load its client) while the source is
  // exported, off their critical path; a missing engine is reported by those jobs.
  if (firing.some((f) => f.workflow.jobs.some(mayNeedEngine)))
    void findEngine().catch(() => undefined);
  const secrets = await loadSecrets(options);
  const runId = `${Date.now()}`;
  const runDir = resolve(
    options.runDir ?? join(stateDir(), "runs", `${runId}-${randomUUID().slice(0, 8)}`),
  );
  const source = join(runDir, "source");
  if (committed)
    await rename(committed.files, source).catch(() =>
      cp(committed.files, source, { recursive: true, verbatimSymlinks: true }),
    );
  else await exportSource(options.cwd, dirty?.commit ?? event.sha, source);
  const log = new RunLog(runDir);
  // Each run of a chain (on: workflow_run) gets a view of its own: its own summary table.
  let view = new RunView(io, process.stdout.isTTY === true && !options.json);
  const sink = (e: RunEvent) => {
    log.write(e);
    if (options.json) io.out(JSON.stringify(e));
    else view.handle(e);
  };
  // -P / `platforms:`: labels this host serves itself (`host`) or in a job container.
  const platforms: Record<string, string> = { ...repo.config.platforms, ...options.platforms };
  const labels = new Set(
    [...DEFAULT_LABELS, ...options.labels, ...Object.keys(platforms)].map((l) => l.toLowerCase()),
  );
  /** A job in a container of the image its first mapped label names, unless it has its own. */
  const onPlatform = (spec: JobSpec): JobSpec => {
    const image = spec.runsOn.map((l) => platforms[l.toLowerCase()]).find((v) => v !== undefined);
    return image && image !== "host" && spec.container === undefined
      ? { ...spec, container: image }
      : spec;
  };
  // One store per machine, shared by every run: each action's commit is fetched once.
  const token = options.actionSources.token ?? secrets[ACTIONS_TOKEN_SECRET];
  const store = localActionStore({ ...options.actionSources, ...(token ? { token } : {}) });
  // The machine's tool cache, shared by every run as a runner's is: setup actions find what
  // earlier runs put there, and node actions' runtimes live there.
  const toolCache = join(stateDir(), "tool-cache");
  const runtimes = new NodeRuntimes(toolCache, nodeSources(options.actionSources.nodeSources));
  // GitHub's runtime services for actions built on the toolkit (@actions/cache), on the same
  // cache store as the built-in actions/cache.
  const cacheDir = join(
    stateDir(),
    "cache",
    createHash("sha256").update(resolve(options.cwd)).digest("hex").slice(0, 16),
  );
  const runtime = await startLocalRuntime(cacheDir);
  // Artifacts belong to one run: a chained run keeps its own (`artifacts-<run id>`).
  // The runtime tokens handed out, masked in every job's log like secrets.
  const credentials: string[] = [];
  const resolverFor = async (artifactDir: string, id: string) => {
    // One token per run: the run's jobs share its artifacts, as on GitHub.
    const runtimeEnv = await runtime.envFor({ runId: id, jobId: "local" }, artifactDir);
    credentials.push(runtimeEnv.ACTIONS_RUNTIME_TOKEN ?? "");
    return new ActionResolver({
      store,
      runtimes,
      pythons: pythonInstalls(toolCache, options.actionSources),
      ...(dirty && head ? { workingTree: { of: head, commit: dirty.commit } } : {}),
      repoRoot: options.cwd,
      artifactDir,
      actionsCacheDir: cacheDir,
      runtimeEnv,
    });
  };
  let actions = await resolverFor(join(runDir, "artifacts"), runId);
  let jobCounter = 0;
  // Host jobs' directories serve job after job (at most --jobs at a time), each readied for
  // the next by its executor; with --keep every job gets its own, kept.
  const freeRoots: string[] = [];
  const baseEnv = hostEnv();
  const runWorkflows = (
    workflows: EngineWorkflow[],
    on: TriggerEvent,
    id: string,
    first: boolean,
  ) =>
    executeRun(
      {
        runId: id,
        event: on,
        workflows,
        config: repo.config,
        vars: options.vars,
        secrets,
        ...(first && options.jobs.length ? { only: options.jobs } : {}),
      },
      {
        maxParallel: options.parallel,
        sink: (e) => sink(e),
        cancel,
        ...(Object.keys(options.matrix ?? {}).length > 0 ? { matrixFilter: options.matrix } : {}),
        approved: (env) => options.approve.includes(env) || options.approve.includes("*"),
        approvalHint: (env) => `run with --approve ${env} to approve it locally`,
        loadWorkflow: calledWorkflowLoader({
          root: options.cwd,
          known: repo.workflows,
          store,
        }),
        unrunnable: (wanted) => {
          const missing = wanted.filter((l) => !labels.has(l.toLowerCase()));
          return missing.length === 0
            ? undefined
            : `no runner with labels [${missing.join(", ")}]; this host answers to ${[...labels].join(", ")} (add more with --label, or map them with -P LABEL=host|IMAGE)`;
        },
        execute: async (spec, jobCancel) => {
          const reused = freeRoots.pop();
          const dir = { root: reused ?? newRoot(), reused: reused !== undefined, reusable: false };
          try {
            return await runOnExecutor(onPlatform(spec), jobCancel, dir);
          } finally {
            if (!options.keep && dir.reusable) freeRoots.push(dir.root);
          }
        },
      },
    );
  const results = [await runWorkflows(firing, event, runId, true)];
  // As on GitHub, a workflow that has ended starts those listening to its runs (on:
  // workflow_run), three links deep at most; each workflow runs once per invocation.
  const ran = new Set(firing.map((f) => f.workflow.file));
  let ended = firing.map((f) => ({
    workflow: f.workflow,
    result: results[0] as RunResult,
    on: event,
    id: runId,
  }));
  let chainedRuns = 0;
  // A chain started by a workflow_run event goes on from that event's depth.
  const first = (event.workflowRun?.depth ?? 0) + 1;
  for (let depth = first; options.chain && depth <= MAX_LOCAL_CHAIN; depth++) {
    const next: typeof ended = [];
    for (const { workflow, result, on, id } of ended) {
      if (cancel.aborted) break;
      // A workflow none of whose jobs ran (left out by -j) sends nothing.
      if (![...result.jobs.keys()].some((k) => k.startsWith(`${workflow.file} / `))) continue;
      const chained = workflowRunEvent(workflow, result, on, id, depth);
      const fired = planRun(
        repo.workflows.filter((w) => !ran.has(w.file)),
        chained,
        { config: repo.config, vars: options.vars },
      ).workflows.filter((p) => p.fires && p.errors.length === 0);
      if (fired.length === 0) continue;
      const workflows = fired.map((p) => repo.workflows.find((w) => w.file === p.file) as Workflow);
      for (const w of workflows) ran.add(w.file);
      if (!options.json)
        io.out(
          io.colors.dim(
            `workflow_run: ${workflow.name} ended; starting ${workflows.map((w) => w.name).join(", ")}`,
          ),
        );
      const chainedId = String(Number(runId) + ++chainedRuns);
      view = new RunView(io, process.stdout.isTTY === true && !options.json);
      actions = await resolverFor(join(runDir, `artifacts-${chainedId}`), chainedId);
      const result2 = await runWorkflows(
        workflows.map((w) => ({ workflow: w, inputs: {} })),
        chained,
        chainedId,
        false,
      );
      results.push(result2);
      next.push(
        ...workflows.map((w) => ({ workflow: w, result: result2, on: chained, id: chainedId })),
      );
    }
    if (next.length === 0) break;
    ended = next;
  }
  await log.close();
  await runtime.close();
  await rm(source, { recursive: true, force: true });
  if (!options.keep) {
    // A job may leave what this user cannot remove (an immutable file, a container's files):
    // said, not fatal, once the run has its result.
    await rm(join(runDir, "jobs"), { recursive: true, force: true }).catch((err: Error) =>
      io.err(`trunkline: could not remove the run's job directories: ${err.message}`),
    );
  }
  if (!options.json) io.out(io.colors.dim(`Logs, annotations, summaries and outputs: ${runDir}`));
  if (cancel.aborted || results.some((r) => r.status === "cancelled")) return 130;
  return results.every((r) => r.status === "success") ? 0 : 1;

  function newRoot(): string {
    return join(runDir, "jobs", String(++jobCounter));
  }

  async function runOnExecutor(
    spec: JobSpec,
    jobCancel: AbortSignal,
    dir: { root: string; reused: boolean; reusable: boolean },
  ): Promise<JobResult> {
    const make = (root: string) =>
      chooseExecutor(spec, {
        root,
        // Readied for the next job on release, or kept with --keep; all are removed together
        // when the run ends, off the jobs' critical path.
        keep: options.keep,
        reuse: true,
        toolCache,
        repository: event.repository,
        mounts: [{ host: store.dir, container: "/__w/_actions", readOnly: true }],
        // The runtime services from the job's containers too.
        hostServices: [runtime.origin],
        isDockerAction: (uses) => actions.isDockerAction(uses, source),
        log: (text) => sink({ type: "log", job: spec.key, stream: "runner", text, at: Date.now() }),
      });
    // The workspace is filled before the job's containers start: a job container mounts it.
    const fill = async (executor: Executor) => {
      await mkdir(executor.paths.files, { recursive: true });
      await seedWorkspace(source, executor.paths.workspace);
    };
    let executor: Executor;
    try {
      executor = await make(dir.root);
      try {
        await fill(executor);
      } catch (err) {
        if (!dir.reused) throw err;
        // A used directory that cannot be brought back to the commit (the last job left
        // what this user cannot change): the job gets a new one.
        dir.root = newRoot();
        dir.reused = false;
        executor = await make(dir.root);
        await fill(executor);
      }
    } catch (err) {
      // No engine for a job that needs one: the job fails at once, saying why.
      if (!(err instanceof TrunklineError)) throw err;
      sink({
        type: "log",
        job: spec.key,
        stream: "runner",
        text: `Error: ${err.message}`,
        at: Date.now(),
      });
      return { status: "failure", outputs: {}, reason: err.message };
    }
    await writeEventFile(executor.paths, event, spec);
    // `id-token: write`: OIDC tokens from this run's own issuer (no cloud trusts it, but the
    // job's steps get what GitHub gives them).
    const idTokenEnv =
      spec.permissions?.["id-token"] === "write"
        ? await runtime.idTokenEnv(oidcClaims(spec))
        : undefined;
    const masks = [...credentials, idTokenEnv?.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? ""];
    const result = await runJob(
      { ...spec, masks: [...spec.masks, ...masks.filter((m) => m)] },
      {
        executor,
        sink: (e) => sink({ ...e, at: Date.now() }),
        cancel: jobCancel,
        actions,
        baseEnv,
        ...(idTokenEnv ? { jobEnv: idTokenEnv } : {}),
        runnerName: hostname(),
      },
    );
    // A container job's directory is not reused (its containers may leave files this user
    // cannot remove), nor one that could not be readied.
    dir.reusable = executor.reusable?.() === true;
    return result;
  }
}

/** Whether a job asks for a container, services or a `docker://` step (other Docker actions are found later). */
function mayNeedEngine(job: Job): boolean {
  if (job.kind !== "steps") return false;
  return (
    job.container !== undefined ||
    job.services !== undefined ||
    job.steps.some((s) => s.uses?.trim().startsWith("docker://"))
  );
}

async function loadSecrets(options: RunOptions): Promise<Record<string, string>> {
  const secrets: Record<string, string> = { GITHUB_TOKEN: process.env.GITHUB_TOKEN ?? "" };
  for (const file of options.secretFiles) {
    const path = resolve(options.cwd, file);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      throw new InputError(`--secret-file ${file}: no such file`);
    }
    Object.assign(secrets, parseDotenv(text, file));
  }
  for (const entry of options.secrets) {
    const eq = entry.indexOf("=");
    if (eq === -1) {
      const value = process.env[entry];
      if (value === undefined)
        throw new InputError(`--secret ${entry}: no such environment variable`);
      secrets[entry] = value;
    } else {
      secrets[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  }
  return secrets;
}

/** The host environment jobs inherit, without variables that would confuse a job about where it runs. */
function hostEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      k.startsWith("GITHUB_") ||
      k.startsWith("RUNNER_") ||
      k.startsWith("INPUT_")
    )
      continue;
    out[k] = v;
  }
  return out;
}

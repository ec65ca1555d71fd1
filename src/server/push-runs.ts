import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FastifyBaseLogger } from "fastify";
import { EMPTY_REPO_CONFIG, REPO_CONFIG_PATH, readRepoConfig } from "../config/repo-config.js";
import { executeRun } from "../engine/run-engine.js";
import { HostExecutor } from "../executors/host/host-executor.js";
import { resolveDispatchInputs } from "../planner/dispatch-inputs.js";
import { planRun } from "../planner/plan-run.js";
import { ActionResolver } from "../runner/actions/action-resolver.js";
import { archiveInto } from "../runner/commit-files.js";
import { runJob } from "../runner/job-runner.js";
import { writeEventFile } from "../runner/step-env.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { secretsForJob } from "../secrets/secret-store.js";
import type { Store } from "../store/open-store.js";
import { RunRecorder } from "../store/run-recorder.js";
import type { TriggerEvent } from "../triggers/event.js";
import type { Workflow } from "../workflow/model.js";
import { readWorkflow } from "../workflow/read-workflow.js";
import type { RefUpdate } from "./git/git-http.js";
import { repositoryPath } from "./git/git-http.js";

const exec = promisify(execFile);
const ZERO = "0".repeat(40);

/** What the server's in-process runner needs. */
export interface PushRunsOptions {
  readonly store: Store;
  readonly box: SecretBox;
  readonly dataDir: string;
  readonly log: FastifyBaseLogger;
  /** Most jobs running at once in this server. @default 2 */
  readonly maxParallel?: number;
}

/**
 * Turns pushes to hosted repositories into runs: reads the pushed commit's workflows and
 * config from the bare repository, plans the push, records a run per workflow that fires,
 * and runs it in the background with the in-process host runner, every event into the store.
 */
export class PushRuns {
  private readonly active = new Set<Promise<void>>();
  private readonly cancels = new Map<string, AbortController>();

  constructor(private readonly options: PushRunsOptions) {}

  /** A push listener for {@link registerGitHttp}: returns at once, the work goes on. */
  readonly onPush = (repository: string, updates: readonly RefUpdate[]): void => {
    for (const update of updates) {
      if (update.after === ZERO) continue; // a deleted ref runs nothing
      const work = this.trigger(repository, update).catch((err: Error) =>
        this.options.log.error(
          { err, repository, ref: update.ref },
          "could not start the runs of a push",
        ),
      );
      this.active.add(work);
      void work.finally(() => this.active.delete(work));
    }
  };

  /** Cancels a run this server is running; false when it is not running here. */
  cancel(runId: string): boolean {
    const controller = this.cancels.get(runId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /** Resolves when every run started so far has finished. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active]);
  }

  private async trigger(repository: string, update: RefUpdate): Promise<void> {
    const bare = repositoryPath(this.options.dataDir, repository);
    const changedFiles =
      update.before === ZERO ? undefined : await diff(bare, update.before, update.after);
    const event: TriggerEvent = {
      name: "push",
      ref: update.ref,
      sha: update.after,
      repository,
      ...(changedFiles ? { changedFiles } : {}),
      payload: {
        ref: update.ref,
        before: update.before,
        after: update.after,
        repository: { name: repository },
      },
    };
    await this.start(repository, event);
  }

  /**
   * Runs `workflow_dispatch` for one workflow file at a ref of a hosted repository. Resolves
   * to the run created, or to the reasons it cannot start (unknown ref or workflow, inputs
   * that do not match their definitions).
   */
  async dispatch(
    repository: string,
    request: { workflow: string; ref: string; inputs: Readonly<Record<string, string>> },
  ): Promise<{ runIds: string[] } | { errors: string[] }> {
    const bare = repositoryPath(this.options.dataDir, repository);
    const ref = request.ref.startsWith("refs/") ? request.ref : `refs/heads/${request.ref}`;
    const sha = await exec("git", [
      "-C",
      bare,
      "rev-parse",
      "--verify",
      "-q",
      `${ref}^{commit}`,
    ]).then(
      (r) => r.stdout.trim(),
      () => undefined,
    );
    if (!sha) return { errors: [`no ref '${request.ref}' in ${repository}`] };
    const event: TriggerEvent = {
      name: "workflow_dispatch",
      ref,
      sha,
      repository,
      inputs: request.inputs,
      payload: {
        ref,
        inputs: request.inputs,
        workflow: request.workflow,
        repository: { name: repository },
      },
    };
    return this.start(repository, event, request.workflow);
  }

  /** Plans an event, records a run per workflow that fires, and runs them in the background. */
  private async start(
    repository: string,
    event: TriggerEvent,
    only?: string,
  ): Promise<{ runIds: string[] } | { errors: string[] }> {
    const { db } = this.options.store;
    const repo = await db
      .selectFrom("repositories")
      .select(["id", "name"])
      .where("name", "=", repository)
      .executeTakeFirstOrThrow();
    const bare = repositoryPath(this.options.dataDir, repository);
    const all = await this.workflowsAt(bare, event.sha);
    const workflows = only
      ? all.filter((w) => w.file === only || w.file === `.github/workflows/${only}`)
      : all;
    if (only && workflows.length === 0)
      return { errors: [`no valid workflow '${only}' at ${event.ref}`] };
    const configText = await show(bare, event.sha, REPO_CONFIG_PATH);
    const config =
      configText === undefined
        ? EMPTY_REPO_CONFIG
        : readRepoConfig(REPO_CONFIG_PATH, configText).config;
    const plan = planRun(workflows, event, { config });
    const errors = plan.workflows.flatMap((w) => w.errors.map((e) => `${w.file}: ${e}`));
    if (only && errors.length > 0) return { errors };
    if (only && !plan.workflows.some((w) => w.fires))
      return { errors: [`${only} does not listen to ${event.name}`] };
    const runIds: string[] = [];
    for (const planned of plan.workflows.filter((w) => w.fires && w.errors.length === 0)) {
      const workflow = workflows.find((w) => w.file === planned.file) as Workflow;
      const runId = randomUUID();
      const last = await db
        .selectFrom("runs")
        .select((eb) => eb.fn.max("number").as("n"))
        .where("repository_id", "=", repo.id)
        .executeTakeFirst();
      await db
        .insertInto("runs")
        .values({
          id: runId,
          repository_id: repo.id,
          number: Number(last?.n ?? 0) + 1,
          attempt: 1,
          workflow_file: workflow.file,
          workflow_name: workflow.name,
          event: event.name,
          ref: event.ref,
          sha: event.sha,
          status: "queued",
          created_at: Date.now(),
          started_at: null,
          finished_at: null,
          payload: JSON.stringify(event.payload ?? {}),
        })
        .execute();
      runIds.push(runId);
      this.track(this.execute(runId, repo.id, bare, workflow, event, config));
    }
    return { runIds };
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch((err: Error) =>
      this.options.log.error({ err }, "a run failed to execute"),
    );
    this.active.add(guarded);
    void guarded.finally(() => this.active.delete(guarded));
  }

  private async execute(
    runId: string,
    repositoryId: string,
    bare: string,
    workflow: Workflow,
    event: TriggerEvent,
    config: typeof EMPTY_REPO_CONFIG,
  ): Promise<void> {
    const { db } = this.options.store;
    const recorder = new RunRecorder(db, runId);
    const root = await mkdtemp(join(tmpdir(), "trunkline-server-run-"));
    const secrets = await secretsForJob(db, this.options.box, { repositoryId, fromFork: false });
    const actions = new ActionResolver({
      mirrors: [],
      cacheDir: join(this.options.dataDir, "actions"),
      repoRoot: bare,
      artifactDir: join(this.options.dataDir, "artifacts", runId),
      actionsCacheDir: join(this.options.dataDir, "cache", repositoryId),
    });
    let n = 0;
    const cancel = new AbortController();
    this.cancels.set(runId, cancel);
    try {
      await executeRun(
        {
          runId,
          event,
          workflows: [{ workflow, inputs: dispatchInputs(workflow, event) }],
          config,
          vars: config.variables,
          secrets,
        },
        {
          maxParallel: this.options.maxParallel ?? 2,
          sink: (e) => recorder.handle(e),
          cancel: cancel.signal,
          approved: () => false,
          unrunnable: () => undefined,
          execute: async (spec, cancel) => {
            const executor = new HostExecutor({ root: join(root, String(++n)) });
            await executor.prepare();
            await archiveInto(bare, event.sha, executor.paths.workspace);
            await writeEventFile(executor.paths, event, spec);
            return runJob(spec, {
              executor,
              sink: (e) => recorder.handle({ ...e, at: Date.now() }),
              cancel,
              actions,
              baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
            });
          },
        },
      );
    } finally {
      this.cancels.delete(runId);
      await recorder.flush();
      await rm(root, { recursive: true, force: true });
    }
  }

  private async workflowsAt(bare: string, sha: string): Promise<Workflow[]> {
    const listing = await exec("git", [
      "-C",
      bare,
      "ls-tree",
      "--name-only",
      `${sha}:.github/workflows`,
    ]).then(
      (r) => r.stdout.split("\n").filter((f) => /\.ya?ml$/.test(f)),
      () => [] as string[],
    );
    const out: Workflow[] = [];
    for (const name of listing) {
      const path = `.github/workflows/${name}`;
      const text = await show(bare, sha, path);
      if (text === undefined) continue;
      const read = await readWorkflow(path, text);
      if (read.workflow && !read.diagnostics.some((d) => d.severity === "error"))
        out.push(read.workflow);
    }
    return out;
  }
}

/** A dispatched run's typed inputs (planning already refused bad ones). */
function dispatchInputs(workflow: Workflow, event: TriggerEvent): Record<string, unknown> {
  if (event.name !== "workflow_dispatch") return {};
  const resolved = resolveDispatchInputs(
    workflow.on.workflow_dispatch?.inputs ?? [],
    event.inputs ?? {},
  );
  return resolved.ok ? { ...resolved.inputs } : {};
}

async function show(bare: string, sha: string, path: string): Promise<string | undefined> {
  return exec("git", ["-C", bare, "show", `${sha}:${path}`], { maxBuffer: 2 * 1024 * 1024 }).then(
    (r) => r.stdout,
    () => undefined,
  );
}

async function diff(bare: string, before: string, after: string): Promise<string[] | undefined> {
  return exec("git", ["-C", bare, "diff", "--name-only", before, after, "--"]).then(
    (r) => r.stdout.split("\n").filter(Boolean),
    () => undefined,
  );
}

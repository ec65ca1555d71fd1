import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyBaseLogger } from "fastify";
import { StoreSource } from "../../actions/action-sources.js";
import type { ActionStore } from "../../actions/action-store.js";
import { JobAgent } from "../../agent/job-agent.js";
import { formatDiagnostic } from "../../common/diagnostic.js";
import { type Actor, recordDomainEvents } from "../../events/domain-events.js";
import { DEFAULT_LABELS } from "../../executors/host/host-labels.js";
import type { JobSandbox } from "../../executors/host/job-sandbox.js";
import { defaultJobsDir, ensureOwnDir } from "../../executors/host/jobs-dir.js";
import { planRun } from "../../planner/plan-run.js";
import type { ServerRuntime } from "../../runtime/server-runtime.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { Store } from "../../store/open-store.js";
import type { NodeSource } from "../../toolcache/node-sources.js";
import type { TriggerEvent } from "../../triggers/event.js";
import type { Workflow } from "../../workflow/model.js";
import { repositoryPath } from "../git/bare-repository.js";
import type { RefUpdate } from "../git/git-http.js";
import { embeddedRunnerId, embeddedTransport } from "./embedded-transport.js";
import { type Attempt, executeAttempt } from "./execute-attempt.js";
import { configAt, invalidWorkflowsAt, workflowsAt } from "./git-source.js";
import { JobDispatch } from "./job-dispatch.js";
import { recordRun } from "./record-run.js";
import { rerunRun } from "./rerun-run.js";
import { resumeUnfinished } from "./resume-runs.js";
import { retryIfLost } from "./retry-lost.js";
import { ServerPresence } from "./server-presence.js";
import {
  pushLines,
  type RerunResult,
  type StartedRun,
  type StartResult,
  shortRef,
} from "./start-result.js";
import {
  type DispatchRequest,
  dispatchEvent,
  type PushKnown,
  pushEvent,
} from "./trigger-events.js";
import { sendWorkflowRun } from "./workflow-run-trigger.js";

const ZERO = "0".repeat(40);

/** What the server's in-process runner needs. */
export interface RunServiceOptions {
  readonly store: Store;
  readonly box: SecretBox;
  readonly dataDir: string;
  readonly log: FastifyBaseLogger;
  /** What jobs see as `github.server_url` (`serve --server-url`); GitHub's by default. */
  readonly serverUrl?: string;
  /** The runtime services jobs reach on the server (artifacts), and their tokens. */
  readonly runtime?: ServerRuntime;
  /** Most jobs of one run handed to runners at once; runners' capacity is the real limit. @default 64 */
  readonly maxParallel?: number;
  /** Jobs the embedded runner runs at once; 0 for none (agents only). @default 2 */
  readonly embeddedCapacity?: number;
  /** The server's action store, which the embedded runner takes its actions from. */
  readonly actions?: ActionStore;
  /** Where the embedded runner's node actions get their runtimes. @default nodejs.org, then npm */
  readonly nodeSources?: readonly NodeSource[];
  /** Where the embedded runner's setup-python installs Python from. */
  readonly pythonSources?: readonly string[];
  /**
   * Where the embedded runner's job directories go, each server process in a directory of
   * its own: never inside the data directory, which jobs must not reach.
   * @default {@link defaultJobsDir}
   */
  readonly jobsDir?: string;
  /** What keeps the embedded runner's jobs from the server's files and environment. @default none */
  readonly sandbox?: JobSandbox;
  /** How long a runner's lease lasts without a heartbeat. @default 30 s */
  readonly leaseMs?: number;
  /** How long a job may wait for a runner before it fails. @default 24 hours */
  readonly queueTimeoutMs?: number;
  /** How long another server process may go without a sign of life. @default 30 s */
  readonly serverGoneMs?: number;
  /**
   * How many times a run whose only failures are lost runners starts again by itself, as a
   * new attempt of its failed jobs (see `shouldRetryLost`). @default 0
   */
  readonly retryRunnerLost?: number;
  /**
   * Another server process counted this one as gone and took its runs over: stop at once
   * (see `PresenceHandlers.onFenced`). By default the fact is logged.
   */
  readonly onFenced?: () => void;
}

/** Where a run can start from: the repository row. */
export interface RunRepository {
  readonly id: string;
  readonly name: string;
}

/** The events on which a workflow file that does not parse fails a run, as on GitHub. */
const INVALID_FILE_EVENTS = new Set(["push", "pull_request", "pull_request_target"]);

/**
 * Turns events into runs and runs them: plans an event against the workflows and config of
 * its commit, records a run per workflow that fires (its trigger kept, so a re-run replays
 * it), and executes each in the background with the in-process runner. Also cancels runs
 * and starts re-runs as new attempts of the same run, keeping earlier attempts' records.
 */
export class RunService {
  private readonly active = new Set<Promise<void>>();
  private readonly cancels = new Map<string, AbortController>();
  private readonly stopping = new AbortController();
  private embedded: Promise<void> | undefined;
  /** Where jobs wait for runners; agents' routes talk to it. */
  readonly jobs: JobDispatch;
  /** This server process among those sharing the store, and which runs are its own. */
  readonly presence: ServerPresence;
  /** Resumes one after another, so a run is never carried on twice. */
  private resuming: Promise<unknown> = Promise.resolve();
  /** The server's own address, once it listens (see {@link RunService.listening}). */
  private readonly origin: Promise<string>;
  private setOrigin: (origin: string) => void = () => undefined;

  constructor(private readonly options: RunServiceOptions) {
    this.origin = new Promise((resolve) => {
      this.setOrigin = resolve;
    });
    this.jobs = new JobDispatch({
      store: options.store,
      box: options.box,
      ...(options.runtime ? { runtimeTokens: options.runtime.tokens } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      ...(options.queueTimeoutMs ? { queueTimeoutMs: options.queueTimeoutMs } : {}),
    });
    this.presence = new ServerPresence({
      store: options.store,
      ...(options.serverGoneMs ? { goneMs: options.serverGoneMs } : {}),
      handlers: {
        onCancel: (runId) => this.cancels.get(runId)?.abort(),
        onOrphans: () =>
          this.background(this.resumeUnfinished(), "could not carry on a gone server's runs"),
        onGone: async (serverId) => {
          await this.jobs.loseRunner(embeddedRunnerId(serverId), "runner_lost");
          await rm(this.runnerDir(serverId), { recursive: true, force: true }).catch(
            () => undefined,
          );
        },
        onFenced:
          options.onFenced ??
          (() =>
            options.log.error(
              "another server process counted this one as gone and carries its runs on",
            )),
      },
    });
  }

  /**
   * Joins the servers sharing the store, and starts the lease reaper and the embedded
   * runner (unless its capacity is 0).
   */
  async startRunners(): Promise<void> {
    await this.presence.start();
    await this.jobs.start();
    const capacity = this.options.embeddedCapacity ?? 2;
    if (capacity === 0) return;
    const runner = { id: embeddedRunnerId(this.presence.id), labels: [...DEFAULT_LABELS] };
    this.jobs.addLocalRunner(runner);
    ensureOwnDir(this.jobsDir(), 0o711, "the jobs directory");
    const runtime = this.options.runtime;
    const agent = new JobAgent({
      transport: embeddedTransport(this.jobs, runner),
      name: runner.id,
      workDir: this.runnerDir(this.presence.id),
      // Its jobs reach the server's runtime services as agents' jobs do, at its address.
      ...(runtime ? { serverOrigin: () => this.origin } : {}),
      ...(this.options.sandbox ? { sandbox: this.options.sandbox } : {}),
      capacity,
      baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      ...(this.options.actions ? { actionSources: [new StoreSource(this.options.actions)] } : {}),
      ...(this.options.nodeSources ? { nodeSources: this.options.nodeSources } : {}),
      ...(this.options.pythonSources ? { pythonSources: this.options.pythonSources } : {}),
      onError: (err) => this.options.log.error({ err }, "the embedded runner failed"),
    });
    this.embedded = agent.run(this.stopping.signal);
  }

  /**
   * Tells the service the address the server listens at (`app.listen`'s answer), which the
   * embedded runner's jobs reach the runtime services by; their jobs wait for it.
   */
  listening(address: string): void {
    const url = new URL(address);
    if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
    if (url.hostname === "[::]") url.hostname = "[::1]";
    this.setOrigin(url.origin);
  }

  /** Stops taking jobs; resolves once the embedded runner's jobs have ended. */
  async stopRunners(): Promise<void> {
    this.stopping.abort();
    await this.jobs.stop();
    await this.embedded;
  }

  /**
   * Leaves the servers sharing the store (call once no request reaches this process any
   * more): its unfinished runs are carried on by another process, or by its next start.
   */
  async leave(): Promise<void> {
    await this.presence.stop();
    await rm(this.runnerDir(this.presence.id), { recursive: true, force: true }).catch(
      () => undefined,
    );
  }

  /**
   * The embedded runner's directory of a server process: each process its own, so processes
   * sharing a data directory never share a job's directory or an unpacked commit.
   */
  private runnerDir(serverId: string): string {
    return join(this.jobsDir(), serverId);
  }

  private jobsDir(): string {
    return this.options.jobsDir ?? defaultJobsDir();
  }

  /** The bare repository of a repository, hosted or mirrored. */
  bareOf(repository: string): string {
    return repositoryPath(this.options.dataDir, repository);
  }

  /**
   * A push listener for the git endpoint: starts the runs of each ref the push updated (the
   * runs go on in the background) and resolves to what to tell the pusher about them.
   */
  readonly onPush = async (
    repository: string,
    updates: readonly RefUpdate[],
    pusher?: { readonly name: string },
  ): Promise<readonly string[]> => {
    const lines: string[] = [];
    for (const update of updates) {
      if (update.after === ZERO) continue; // a deleted ref runs nothing
      try {
        const known = pusher ? { actor: pusher.name } : undefined;
        lines.push(...pushLines(update, await this.push(repository, update, known)));
      } catch (err) {
        this.options.log.error(
          { err },
          `could not start the runs of a push to ${repository} ${update.ref}`,
        );
        lines.push(
          `Trunkline: ${shortRef(update.ref)}: the runs could not be started (see the server's log)`,
        );
      }
    }
    return lines;
  };

  /** Starts the runs of a push of `update` to a repository whose bare repository has the commits. */
  async push(repository: string, update: RefUpdate, known?: PushKnown): Promise<StartResult> {
    return this.start(
      repository,
      await pushEvent(this.bareOf(repository), repository, update, known),
    );
  }

  /**
   * Runs `workflow_dispatch` for one workflow file at a ref. Resolves to the run created, or
   * to the reasons it cannot start (unknown ref or workflow, inputs that do not match).
   */
  async dispatch(repository: string, request: DispatchRequest): Promise<StartResult> {
    const event = await dispatchEvent(this.bareOf(repository), repository, request);
    if ("errors" in event) return event;
    return this.start(repository, event, request.workflow);
  }

  /**
   * Plans an event at its commit and starts a run per workflow that fires (only `only`, when
   * given, which must then fire). Resolves once the runs are recorded; they go on running.
   */
  async start(repository: string, event: TriggerEvent, only?: string): Promise<StartResult> {
    const { db } = this.options.store;
    const repo = await db
      .selectFrom("repositories")
      .select(["id", "name"])
      .where("name", "=", repository)
      .executeTakeFirstOrThrow();
    const bare = this.bareOf(repository);
    const all = await workflowsAt(bare, event.sha);
    const workflows = only
      ? all.filter((w) => w.file === only || w.file === `.github/workflows/${only}`)
      : all;
    if (only && workflows.length === 0)
      return { errors: [`no valid workflow '${only}' at ${event.ref}`] };
    const config = await configAt(bare, event.sha);
    const plan = planRun(workflows, event, { config });
    const errors = plan.workflows.flatMap((w) => w.errors.map((e) => `${w.file}: ${e}`));
    if (only && errors.length > 0) return { errors };
    if (only && !plan.workflows.some((w) => w.fires))
      return { errors: [`${only} does not listen to ${event.name}`] };
    const runIds: string[] = [];
    const runs: StartedRun[] = [];
    // As on GitHub, a workflow file that does not parse fails a run of its own on a push or
    // a pull request, showing every problem ("Invalid workflow file").
    if (!only && INVALID_FILE_EVENTS.has(event.name)) {
      for (const bad of await invalidWorkflowsAt(bare, event.sha)) {
        const invalid = bad.diagnostics.map(formatDiagnostic);
        const { id, number } = await recordRun(
          this.options.store,
          this.presence.id,
          repo,
          { file: bad.file, name: bad.file },
          event,
          invalid,
        );
        runIds.push(id);
        runs.push({ id, number, workflow: bad.file, invalid });
      }
    }
    for (const planned of plan.workflows.filter((w) => w.fires && w.errors.length === 0)) {
      const workflow = workflows.find((w) => w.file === planned.file) as Workflow;
      const { id, number } = await recordRun(
        this.options.store,
        this.presence.id,
        repo,
        workflow,
        event,
      );
      runIds.push(id);
      runs.push({ id, number, workflow: workflow.name });
      this.background(
        sendWorkflowRun(this, db, id, "requested"),
        `could not send workflow_run requested for run ${id}`,
      );
      this.launch(id, () =>
        executeAttempt(
          this.attemptDeps(),
          {
            runId: id,
            runNumber: number,
            attempt: 1,
            repositoryId: repo.id,
            bare,
            workflow,
            event,
            config,
          },
          this.cancelSignal(id),
        ),
      );
    }
    const fired = plan.workflows.some((w) => w.fires);
    return {
      runIds,
      runs,
      ...(errors.length > 0 ? { problems: errors } : {}),
      ...(fired
        ? {}
        : {
            none:
              workflows.length === 0
                ? "no valid workflow in .github/workflows"
                : `no workflow listens to ${event.name} on ${shortRef(event.ref)}`,
          }),
    };
  }

  /**
   * Runs a finished run again as its next attempt: every job, or (`failedOnly`) the jobs that
   * failed or were cancelled and those that need them, the others keeping their results.
   * The workflow and config are read again at the run's commit, as on GitHub.
   */
  async rerun(runId: string, failedOnly: boolean, actor?: Actor): Promise<RerunResult> {
    const result = await rerunRun(this, this.options.store.db, runId, failedOnly);
    if ("attempt" in result)
      await recordDomainEvents(this.options.store.db, [
        {
          type: "run.rerun",
          runId,
          attempt: result.attempt,
          failedOnly,
          actor: actor ?? { kind: "system", server: this.presence.id },
          at: Date.now(),
        },
      ]);
    return result;
  }

  /**
   * Carries on the runs a stopped server left queued or running: each attempt resumes with
   * its finished jobs kept as they ended; jobs a remote agent still holds are waited for
   * where they are (their agents keep running and retry their writes); jobs the stopped
   * server's embedded runner held died with it and end as `runner_lost`. A run whose
   * workflow can no longer be read ends as `server_restarted`. Call after `startRunners`.
   */
  async resumeUnfinished(): Promise<{ resumed: number; ended: number }> {
    const next = this.resuming.then(async () => {
      await this.presence.sweep();
      return resumeUnfinished(this, this.options.store.db);
    });
    this.resuming = next.catch(() => undefined);
    return next;
  }

  /** Starts an attempt of a recorded run in the background; cancel reaches it by its run id. */
  launchAttempt(attempt: Attempt): void {
    this.launch(attempt.runId, () =>
      executeAttempt(this.attemptDeps(), attempt, this.cancelSignal(attempt.runId)),
    );
  }

  /** Whether this server is running an attempt of the run now. */
  isRunning(runId: string): boolean {
    return this.cancels.has(runId);
  }

  /**
   * Cancels a run: at once when this process runs it, else by asking the process that does;
   * false when no process runs it.
   */
  async cancel(runId: string, actor?: Actor): Promise<boolean> {
    const controller = this.cancels.get(runId);
    const cancelled = controller ? true : await this.presence.requestCancel(runId);
    if (!cancelled) return false;
    // Recorded before the run ends, so the log says who before it says cancelled.
    await recordDomainEvents(this.options.store.db, [
      {
        type: "run.cancel_requested",
        runId,
        actor: actor ?? { kind: "system", server: this.presence.id },
        at: Date.now(),
      },
    ]);
    controller?.abort();
    return true;
  }

  /** Resolves when every run started so far has finished. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active]);
  }

  /** Runs work in the background, logging (never throwing) its failure. */
  background(work: Promise<unknown>, what: string): void {
    const guarded = work.then(
      () => undefined,
      (err: Error) => this.options.log.error({ err }, what),
    );
    this.active.add(guarded);
    void guarded.finally(() => this.active.delete(guarded));
  }

  private attemptDeps() {
    const { store, box } = this.options;
    return {
      store,
      box,
      maxParallel: this.options.maxParallel ?? 64,
      ...(this.options.serverUrl ? { serverUrl: this.options.serverUrl } : {}),
      dispatch: this.jobs,
    };
  }

  private cancelSignal(runId: string): AbortSignal {
    const controller = new AbortController();
    this.cancels.set(runId, controller);
    return controller.signal;
  }

  private launch(runId: string, work: () => Promise<void>): void {
    this.background(
      work().finally(async () => {
        this.cancels.delete(runId);
        if (this.stopping.signal.aborted) return;
        await this.presence.release(runId);
        await retryIfLost(
          this.options.store.db,
          runId,
          this.options.retryRunnerLost ?? 0,
          (failedOnly) => this.rerun(runId, failedOnly),
        ).then((retried) => {
          if (retried)
            this.options.log.warn(
              { runId, ...retried },
              "a run whose runners were lost starts again",
            );
        });
        // Workflows listening to this one's runs (on: workflow_run) start once it has ended.
        await sendWorkflowRun(this, this.options.store.db, runId, "completed");
      }),
      `run ${runId} failed to execute`,
    );
  }
}

import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ActionSource } from "../actions/action-sources.js";
import { ActionStore } from "../actions/action-store.js";
import { ApiError, TrunklineError } from "../common/errors.js";
import { chooseExecutor } from "../executors/choose-executor.js";
import type { Executor } from "../executors/executor.js";
import type { JobSandbox } from "../executors/host/job-sandbox.js";
import { ensureOwnDir } from "../executors/host/jobs-dir.js";
import { ActionResolver } from "../runner/actions/action-resolver.js";
import { type JobResult, runJob } from "../runner/job-runner.js";
import type { RunnerEvent } from "../runner/runner-events.js";
import { writeEventFile } from "../runner/step-env.js";
import { RemoteArtifacts } from "../runtime/artifact-client.js";
import { RemoteCaches } from "../runtime/cache-client.js";
import { type LocalRuntime, startLocalRuntime } from "../runtime/local-runtime.js";
import { scopeId } from "../runtime/runtime-token.js";
import { cacheKeyOf } from "../runtime/server-runtime.js";
import { NodeRuntimes } from "../toolcache/node-runtimes.js";
import { type NodeSource, nodeSources } from "../toolcache/node-sources.js";
import { GITHUB_PYTHON_MANIFEST, PythonInstalls } from "../toolcache/python-installs.js";
import type { AgentLease, AgentTransport, TimedRunnerEvent } from "./agent-protocol.js";
import { CheckoutSources } from "./checkout-source.js";
import { CommitTrees } from "./commit-trees.js";
import { sourceRepository } from "./job-source.js";
import { idTokenEnv, serverRuntimeEnv, withCredentials } from "./server-credentials.js";

/** What an agent needs besides its transport. */
export interface JobAgentOptions {
  readonly transport: AgentTransport;
  /**
   * Where jobs' workspaces and the action and cache stores live. Jobs can reach it: it must
   * not be (nor be inside) a directory holding anything of the runner's own.
   */
  readonly workDir: string;
  /** What keeps jobs' processes from the runner's files and environment. @default none */
  readonly sandbox?: JobSandbox;
  /** Jobs run at once. */
  readonly capacity: number;
  /** Extra environment for every process (PATH, HOME). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** This runner's name, which its jobs see as `RUNNER_NAME` and `runner.name`. @default "trunkline" */
  readonly name?: string;
  /** How often the lease is renewed (and a cancel looked for). @default 1000 */
  readonly heartbeatMs?: number;
  /** Largest time events wait before they are sent. @default 100 */
  readonly flushMs?: number;
  /** Where node actions' runtimes come from (in order). @default nodejs.org, then the npm registry */
  readonly nodeSources?: readonly NodeSource[];
  /** Where setup-python installs Python from (versions manifest URLs). @default GitHub's */
  readonly pythonSources?: readonly string[];
  /** Where remote actions come from (in order); none: only built-in and local actions run. */
  readonly actionSources?: readonly ActionSource[];
  /** Headers for fetching sources over HTTP (the agent's token). */
  readonly sourceHeaders?: Readonly<Record<string, string>>;
  /** Called with every failure to reach the server (the agent retries). */
  readonly onError?: (err: Error) => void;
  /**
   * The server's address, for a runner whose leases do not name it (the embedded runner):
   * its jobs reach the server's runtime services there, as a remote agent's do.
   */
  readonly serverOrigin?: () => Promise<string>;
}

/**
 * Runs jobs for a server: up to `capacity` slots each long-poll for a job, run it on the host
 * executor and report its events, heartbeats and result under the lease's fencing token.
 * Events are sent in numbered batches and retried until the server takes them (or says the
 * lease is gone), so a lost answer neither drops nor duplicates a line. A heartbeat that
 * brings a cancel ends the job's process tree; one that says the lease is gone stops it.
 */
export class JobAgent {
  private readonly trees: CommitTrees;
  /** This agent's part of its job directories' names. */
  private readonly instance = `${process.pid}-${randomUUID().slice(0, 8)}`;
  /** Slots that moved to a new directory, and how many times. */
  private readonly moves = new Map<number, number>();

  /** Sandboxed jobs' checkout sources, one per slot. */
  private readonly checkoutSources: CheckoutSources;

  /** The actions its jobs use, kept across jobs: each commit fetched once. */
  private readonly actionStore: ActionStore;
  /** Node runtimes for node actions, in the tool cache its jobs share. */
  private readonly runtimes: NodeRuntimes;
  private readonly pythons: PythonInstalls;

  constructor(private readonly options: JobAgentOptions) {
    this.trees = new CommitTrees(join(options.workDir, "trees"));
    this.runtimes = new NodeRuntimes(
      join(options.workDir, "tool-cache"),
      options.nodeSources ?? nodeSources([]),
    );
    this.pythons = new PythonInstalls(
      this.runtimes.toolCache,
      options.pythonSources?.length ? options.pythonSources : [GITHUB_PYTHON_MANIFEST],
    );
    this.actionStore = new ActionStore(
      join(options.workDir, "actions"),
      options.actionSources ?? [],
    );
    this.checkoutSources = new CheckoutSources(join(options.workDir, "checkout"));
  }

  /**
   * Who may enter the parts of the work directory. Another user's jobs (a sandbox) pass
   * through it to their own directory and read the actions and tools they run; the commits,
   * sources, artifacts and caches of other jobs are the runner's to hand out.
   */
  private static readonly LAYOUT: Readonly<Record<string, number>> = {
    jobs: 0o711,
    actions: 0o755,
    "tool-cache": 0o755,
    checkout: 0o711,
    trees: 0o700,
    sources: 0o700,
    artifacts: 0o700,
    cache: 0o700,
  };

  /**
   * Runs until `signal` aborts, then lets running jobs finish. Rejects with an {@link ApiError}
   * when the server answers a claim that it does not know this runner (status 401: it was
   * removed) or that it speaks another agent protocol (`agent_protocol`): asking again
   * cannot change either.
   */
  async run(signal: AbortSignal): Promise<void> {
    ensureOwnDir(this.options.workDir, 0o711, "the jobs directory");
    for (const [name, mode] of Object.entries(JobAgent.LAYOUT)) {
      const dir = join(this.options.workDir, name);
      mkdirSync(dir, { recursive: true, mode });
      chmodSync(dir, mode);
    }
    // Stopped by the caller, or by the server no longer knowing this runner.
    const revoked = new AbortController();
    const stop = AbortSignal.any([signal, revoked.signal]);
    this.revoke = () => revoked.abort();
    await Promise.all(
      Array.from({ length: this.options.capacity }, (_, slot) => this.slot(slot, stop)),
    );
    if (revoked.signal.aborted)
      throw (
        this.refusal ??
        new ApiError(
          "the server no longer knows this runner (it was removed, or its token revoked)",
          401,
        )
      );
  }

  /** Stops every slot's claims: set while `run` runs. */
  private revoke: () => void = () => undefined;
  /** Why the server will never hand this agent a job, when it said so (another protocol). */
  private refusal: ApiError | undefined;

  private async slot(slot: number, signal: AbortSignal): Promise<void> {
    let backoff = 100;
    let next: AgentLease | undefined;
    while (!signal.aborted || next) {
      let lease: AgentLease | undefined = next;
      next = undefined;
      if (!lease) {
        try {
          lease = await this.options.transport.claim(signal);
          backoff = 100;
        } catch (err) {
          if (signal.aborted) return;
          // A runner the server does not know any more gets nothing by asking again.
          if (err instanceof ApiError && err.status === 401) {
            this.revoke();
            return;
          }
          // Nor one that speaks another protocol.
          if (err instanceof ApiError && err.serverCode === "agent_protocol") {
            this.refusal = err;
            this.revoke();
            return;
          }
          this.options.onError?.(err as Error);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 5_000);
          continue;
        }
      }
      // A job handed over with the last one's completion runs even while stopping: it is
      // leased to this agent already.
      if (lease) next = await this.runLease(lease, slot, !signal.aborted);
    }
    try {
      rmSync(this.slotDir(slot), { recursive: true, force: true });
      await this.checkoutSources.drop(`slot-${slot}`);
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  /**
   * The directory of a slot's jobs, one after another. A name of this agent's own keeps
   * apart agents that share a work directory (even as process 1 of their containers), and
   * a restarted agent from what an earlier one left. A slot moves to a new directory when a
   * job's leftovers cannot be removed.
   */
  private slotDir(slot: number): string {
    const move = this.moves.get(slot);
    return join(
      this.options.workDir,
      "jobs",
      `${this.instance}-${slot}${move === undefined ? "" : `-${move}`}`,
    );
  }

  /**
   * After a job whose directory must not serve the next (a container job: its containers may
   * leave files this user cannot remove; or one that could not be readied): the directory is
   * removed, and the slot moves to a new one if that fails.
   */
  private leave(slot: number, root: string): void {
    try {
      rmSync(root, { recursive: true, force: true });
    } catch (err) {
      this.options.onError?.(err as Error);
      this.moves.set(slot, (this.moves.get(slot) ?? 0) + 1);
    }
  }

  /**
   * Runs one leased job to its end and reports it; with `more`, takes the next job in the
   * same exchange when the transport can, and resolves to it.
   */
  /** Where the job reaches the server's runtime services, with its token; none locally. */
  private async serverRuntime(lease: AgentLease) {
    if (!lease.runtime) return undefined;
    const resultsUrl =
      lease.runtime.resultsUrl ??
      (this.options.serverOrigin ? `${await this.options.serverOrigin()}/` : undefined);
    if (!resultsUrl) return undefined;
    return {
      token: lease.runtime.token,
      resultsUrl,
      ...(lease.runtime.idTokenRequest ? { idTokenRequest: lease.runtime.idTokenRequest } : {}),
      ...(lease.runtime.githubToken ? { githubToken: lease.runtime.githubToken } : {}),
      cacheUrl: `${resultsUrl}${lease.runtime.cachePath}`,
    };
  }

  async runLease(lease: AgentLease, slot: number, more = false): Promise<AgentLease | undefined> {
    const { transport } = this.options;
    let root = this.slotDir(slot);
    let reusable = false;
    const cancel = new AbortController();
    let held = true;
    let seq = 0;
    let pending: TimedRunnerEvent[] = [];
    let sending: Promise<void> = Promise.resolve();
    const flush = () => {
      if (pending.length === 0) return sending;
      const batch = pending;
      const number = ++seq;
      pending = [];
      sending = sending
        .then(() => this.retry(() => transport.send(lease, number, batch)))
        .then((ok) => {
          if (!ok) held = false;
        });
      return sending;
    };
    const timer = setInterval(() => void flush(), this.options.flushMs ?? 100);
    const beat = setInterval(() => {
      transport.heartbeat(lease).then(
        (answer) => {
          if (!answer.held) {
            held = false;
            cancel.abort();
          } else if (answer.cancel) cancel.abort();
        },
        (err: Error) => this.options.onError?.(err),
      );
    }, this.options.heartbeatMs ?? 1_000);
    let result: JobResult;
    let runtime: LocalRuntime | undefined;
    let caches: RemoteCaches | undefined;
    try {
      // Caches belong to one repository: a job never restores another repository's entries.
      const cacheDir = join(
        this.options.workDir,
        "cache",
        cacheKeyOf(lease.source.name ?? lease.source.repository),
      );
      const server = await this.serverRuntime(lease);
      const repoRoot = await sourceRepository(
        lease.source,
        join(this.options.workDir, "sources"),
        this.options.sourceHeaders,
      );
      const actionsDir = this.actionStore.dir;
      const { sandbox } = this.options;
      // A sandboxed job's checkout runs git as the job's processes run, from a copy they can
      // read; a job without `uses:` steps cannot check out.
      const checkoutRoot =
        sandbox && sandbox.kind !== "none" && lease.spec.steps.some((s) => s.uses)
          ? await this.checkoutSources.forSlot(`slot-${slot}`, repoRoot, lease.source.sha)
          : repoRoot;
      const artifactDir = join(this.options.workDir, "artifacts", lease.spec.runId);
      const scope = { runId: lease.spec.runId, jobId: scopeId(lease.spec.key) };
      // Without a server's services (a lease that names none), runtime services for this job
      // alone, with its own token.
      let runtimeEnv: Record<string, string>;
      if (server) runtimeEnv = serverRuntimeEnv(server);
      else {
        runtime = await startLocalRuntime(cacheDir);
        runtimeEnv = await runtime.envFor(scope, artifactDir);
      }
      // The repository's caches are the server's, shared by its runners.
      caches = server
        ? new RemoteCaches({
            cacheUrl: server.cacheUrl,
            token: server.token,
            scratch: join(this.options.workDir, "cache-scratch"),
          })
        : undefined;
      const actions = new ActionResolver({
        store: this.actionStore,
        runtimes: this.runtimes,
        pythons: this.pythons,
        repoRoot: checkoutRoot,
        artifactDir,
        // A remote agent's built-in artifact actions keep the run's artifacts on the server too.
        ...(server
          ? {
              artifacts: new RemoteArtifacts({
                ...server,
                scope,
                scratch: join(this.options.workDir, "artifacts", ".scratch"),
              }),
            }
          : {}),
        ...(caches ? { caches } : {}),
        actionsCacheDir: cacheDir,
        // A remote agent's jobs keep their artifacts on the server, for jobs on other agents.
        runtimeEnv,
      });
      const sink = (event: RunnerEvent) => {
        pending.push({ ...event, at: Date.now() });
        if (pending.length >= 200) void flush();
      };
      // Plain jobs run on the host; container:, services: and Docker actions need an engine.
      const make = async (dir: string) => {
        try {
          return await chooseExecutor(lease.spec, {
            root: dir,
            // The slot's jobs take turns in one directory, each readied for the next.
            reuse: true,
            ...(this.options.sandbox ? { sandbox: this.options.sandbox } : {}),
            // Shared by the agent's jobs, as a runner's tool cache is on GitHub.
            toolCache: this.runtimes.toolCache,
            repository: lease.source.name ?? "workspace",
            mounts: [{ host: actionsDir, container: "/__w/_actions", readOnly: true }],
            // The runtime services (the server's, or this job's own) from its containers too.
            hostServices: [server?.resultsUrl ?? runtime?.origin ?? ""].filter(Boolean),
            isDockerAction: (uses) => actions.isDockerAction(uses, repoRoot),
            log: (text) => sink({ type: "log", job: lease.spec.key, stream: "runner", text }),
          });
        } catch (err) {
          if (!(err instanceof TrunklineError)) throw err;
          sink({
            type: "log",
            job: lease.spec.key,
            stream: "runner",
            text: `Error: ${err.message}`,
          });
          throw err;
        }
      };
      // The workspace is filled before any container starts: a job container mounts it.
      const fill = async (e: Executor) => {
        mkdirSync(e.paths.workspace, { recursive: true });
        mkdirSync(e.paths.files, { recursive: true });
        await this.trees.fill(repoRoot, lease.source.sha, e.paths.workspace);
      };
      let executor = await make(root);
      try {
        await fill(executor);
      } catch (err) {
        // A directory that cannot be brought back to the commit (the last job left what this
        // user cannot change): the slot moves to a new one.
        this.options.onError?.(err as Error);
        this.leave(slot, root);
        root = this.slotDir(slot);
        executor = await make(root);
        await fill(executor);
      }
      await writeEventFile(executor.paths, undefined, lease.spec);
      result = await runJob(withCredentials(lease.spec, runtimeEnv.ACTIONS_RUNTIME_TOKEN, server), {
        executor,
        sink,
        cancel: cancel.signal,
        actions,
        baseEnv: this.options.baseEnv,
        jobEnv: idTokenEnv(server),
        ...(this.options.name ? { runnerName: this.options.name } : {}),
      });
      reusable = executor.reusable?.() === true;
    } catch (err) {
      result = {
        status: "failure",
        outputs: {},
        reason:
          err instanceof TrunklineError ? err.message : `runner error: ${(err as Error).message}`,
      };
    } finally {
      clearInterval(timer);
      clearInterval(beat);
      await runtime?.close().catch(() => undefined);
      await caches?.close().catch(() => undefined);
    }
    // The last events go with the result, in one request.
    await sending;
    const tail = { seq: pending.length > 0 ? ++seq : seq, events: pending };
    pending = [];
    let next: AgentLease | undefined;
    const claimAlong = more ? transport.completeAndClaim?.bind(transport) : undefined;
    if (held && claimAlong) next = (await this.retry(() => claimAlong(lease, result, tail))).next;
    else if (held) await this.retry(() => transport.complete(lease, result, tail));
    // A container job's directory is not reused (its containers may leave files this user
    // cannot remove), nor one that could not be readied.
    if (!reusable) this.leave(slot, root);
    return next;
  }

  /** Retries a write until the server answers (whatever it answers), backing off up to 5 s. */
  private async retry<T>(write: () => Promise<T>): Promise<T> {
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 5_000)) {
      try {
        return await write();
      } catch (err) {
        this.options.onError?.(err as Error);
        await sleep(backoff);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type {
  AgentLease,
  EventBatch,
  HeartbeatAnswer,
  JobSource,
  TimedRunnerEvent,
} from "../../agent/agent-protocol.js";
import { checkRunnerEvents, checkRunnerResult } from "../../agent/runner-report.js";
import { describeDuration } from "../../common/duration.js";
import { ForbiddenError } from "../../common/errors.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import type { RunEvent } from "../../engine/run-events.js";
import { type HeldLease, JobQueue, normalise, type QueueRunner } from "../../queue/job-queue.js";
import type { JobResult } from "../../runner/job-runner.js";
import type { RuntimeTokens } from "../../runtime/runtime-token.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { Store } from "../../store/open-store.js";
import { type Listener, listen } from "../../store/pg-listener.js";
import { EVERYONE, type Idle, IdleClaims, type QueuedJob } from "./idle-claims.js";
import { jobRuntime } from "./job-credentials.js";
import { RunnerCensus } from "./runner-census.js";
import { markStarted, serially, startedFromStore, type Waiting } from "./waiting-job.js";

/** The Postgres channel on which server processes tell each other a job was queued. */
const QUEUED = "trunkline_queue";
/**
 * The Postgres channel on which a server process tells the others that a job it does not run
 * changed (an agent took it, sent events, finished it, or lost it); the payload is the
 * entry id, and the process running the job's run catches up from the store.
 */
const CHANGED = "trunkline_jobs";

/** How long a lease lasts without a heartbeat. @default 30 s */
export const DEFAULT_LEASE_MS = 30_000;
/** GitHub's: a job that no runner takes within 24 hours fails. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 24 * 3_600_000;

/**
 * The server's side of running jobs on runners: the engine's `execute` puts a job in the
 * queue and waits; runners (the embedded one, or agents over HTTP) long-poll `claim`, then
 * report events, heartbeats and the result under the lease's fencing token. A write with a
 * stale token is refused. A lease not renewed in time is lost: the job fails with the reason
 * `runner_lost`, and the run goes on (dependants skipped, `always()` jobs run).
 *
 * Several server processes may share one store (Postgres). An agent may then be served by a
 * process other than the one running the job's run: that process keeps the agent's event
 * batches and result in the store and notifies; the run's own process applies them, in
 * order and once, and also looks every second, so nothing depends on a notification
 * arriving. A process carrying on a stopped one's runs catches up the same way.
 */
export class JobDispatch {
  private readonly queue: JobQueue;
  private readonly waiting = new Map<string, Waiting>();
  /** Claims waiting for a job, oldest first. */
  private readonly idle = new IdleClaims();
  private reaper: NodeJS.Timeout | undefined;
  private listener: Listener | undefined;
  private closing = false;
  /** This dispatch's own notifications carry this. */
  private readonly self = randomUUID();
  private readonly census: RunnerCensus;
  readonly leaseMs: number;

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly box: SecretBox;
      readonly leaseMs?: number;
      /** How long a job may wait for a runner before it fails. @default 24 hours */
      readonly queueTimeoutMs?: number;
      readonly now?: () => number;
      /** Issues each lease's runtime token (see {@link AgentLease.runtime}). */
      readonly runtimeTokens?: RuntimeTokens;
    },
  ) {
    this.queue = new JobQueue(options.store.db, options.store.dialect, options.now);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.census = new RunnerCensus(options.store.db);
  }

  /** True once `stop` was called (until `start`): claims end at once, without a job. */
  get stopping(): boolean {
    return this.closing;
  }

  /** Counts a runner in this process among those that can take jobs (for wait reasons). */
  addLocalRunner(runner: QueueRunner): void {
    this.census.addLocal(runner);
  }

  /** Why a job with these labels waits: no runner has them, or those that do are busy. */
  waitReason(labels: readonly string[]): Promise<string> {
    return this.census.waitReason(labels);
  }

  /**
   * Starts looking, every second, for expired leases and for jobs of this process that
   * ended elsewhere, and, on Postgres, listening to the other server processes (`LISTEN`):
   * for jobs they queued, so claims here wake too, and for jobs of this process they served.
   */
  async start(): Promise<void> {
    this.closing = false;
    this.reaper = setInterval(() => void this.tick().catch(() => undefined), 1_000);
    this.reaper.unref();
    const url = this.options.store.url;
    if (this.options.store.dialect === "postgres" && url)
      this.listener = listen(url, [QUEUED, CHANGED], (channel, payload) => {
        // This process's own jobs woke its claims already.
        if (channel === QUEUED) {
          if (payload !== this.self) this.idle.wakeAll();
        } else void this.catchUp(payload).catch(() => undefined);
      });
  }

  /**
   * Stops handing out jobs (waiting claims end at once, so a server's shutdown does not
   * wait out agents' long polls), looking for expired leases, and listening.
   */
  async stop(): Promise<void> {
    this.closing = true;
    this.idle.wakeAll();
    if (this.reaper) clearInterval(this.reaper);
    await this.listener?.close();
    this.listener = undefined;
  }

  /** Tells the other processes that a job changed here (Postgres; a no-op on SQLite). */
  private async changed(entryId: string): Promise<void> {
    if (this.options.store.dialect !== "postgres") return;
    await sql`SELECT pg_notify(${CHANGED}, ${entryId})`.execute(this.options.store.db);
  }

  /**
   * Queues a job and resolves with its result once a runner reports it (or loses it). A
   * cancel withdraws a job no runner has yet, and asks the runner of a running one to end it.
   */
  async execute(
    job: {
      runId: string;
      attempt: number;
      /** The attempt is carried on from a stopped server: its jobs may be queued already. */
      resumed?: boolean;
      source: JobSource;
      sink: (event: RunEvent) => void;
      settle: () => Promise<void>;
    },
    spec: JobSpec,
    cancel: AbortSignal,
  ): Promise<JobResult> {
    // A job a stopped server had queued: wait for it again where it is (a runner may be
    // running it), catching up on what its runner sent meanwhile, or take the end it had.
    const earlier = job.resumed
      ? await this.queue.latest(job.runId, job.attempt, spec.key)
      : undefined;
    const entryId = earlier?.id ?? randomUUID();
    if (!earlier)
      job.sink({
        type: "job.waiting",
        job: spec.key,
        reason: "capacity",
        detail: await this.waitReason(spec.runsOn),
        at: Date.now(),
      });
    // The job is known here before it is in the queue: a runner may take it the moment it is.
    let settle: (result: JobResult) => void = () => undefined;
    const done = new Promise<JobResult>((resolve) => {
      settle = resolve;
    });
    const onCancel = () => {
      void this.queue
        .withdraw(entryId)
        .then(async (withdrawn) => {
          if (withdrawn) waiting.resolve({ status: "cancelled", outputs: {} });
          else await this.queue.requestCancel(entryId);
        })
        .catch(() => undefined);
    };
    const waiting: Waiting = {
      jobKey: spec.key,
      name: spec.name,
      sink: job.sink,
      settle: job.settle,
      resolve: (result) => {
        if (this.waiting.get(entryId) !== waiting) return;
        this.waiting.delete(entryId);
        cancel.removeEventListener("abort", onCancel);
        settle(result);
      },
      started: false,
      applied: earlier?.appliedSeq ?? 0,
      recorded: earlier?.appliedSeq ?? 0,
      chain: Promise.resolve(),
    };
    this.waiting.set(entryId, waiting);
    if (earlier) {
      void this.catchUp(entryId).catch(() => undefined);
    } else {
      const sealed = this.options.box.seal(JSON.stringify({ spec, source: job.source }), "queue");
      await this.queue.enqueue({
        id: entryId,
        runId: job.runId,
        jobKey: spec.key,
        attempt: job.attempt,
        labels: spec.runsOn,
        spec: sealed,
      });
      this.idle.wakeOne({ entryId, labels: normalise(spec.runsOn) });
      if (this.options.store.dialect === "postgres")
        await sql`SELECT pg_notify(${QUEUED}, ${this.self})`.execute(this.options.store.db);
    }
    if (cancel.aborted) onCancel();
    else cancel.addEventListener("abort", onCancel, { once: true });
    return done;
  }

  /** How many runners' claims wait here for a job now (they looked and found none). */
  get waitingClaims(): number {
    return this.idle.waiting;
  }

  /**
   * Waits up to `waitMs` for a job this runner can take and leases it. Wakes the moment a
   * job is queued (no polling interval), so an idle runner picks a job up at once.
   */
  async claim(
    runner: QueueRunner,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<AgentLease | undefined> {
    const deadline = Date.now() + waitMs;
    const me: Idle = { labels: normalise(runner.labels) };
    // The job a wake before this look was for: the look sees it, unless another runner
    // took it first.
    let owed: QueuedJob | undefined;
    try {
      for (;;) {
        if (this.closing) return undefined;
        if (me.woken) {
          if (me.woken !== EVERYONE) owed = me.woken;
          me.woken = undefined;
        }
        // Listen before looking, so a job queued in between is not missed.
        this.idle.add(me);
        const lease = await this.queue.claim(runner, this.leaseMs);
        if (lease) {
          this.idle.delete(me);
          // Woken for a job other than the one taken (an older one): pass the wake on.
          // (`woken` may have been set by a wake while the look was on.)
          const during = me.woken as Idle["woken"];
          for (const job of [owed, during])
            if (job && job !== EVERYONE && job.entryId !== lease.entryId) this.idle.wakeOne(job);
          me.woken = undefined;
          const { spec, source } = JSON.parse(this.options.box.open(lease.spec, "queue")) as {
            spec: JobSpec;
            source: JobSource;
          };
          const waiting = this.waiting.get(lease.entryId);
          if (waiting) markStarted(waiting, Date.now());
          // Not awaited: a failed notification must not lose the lease the runner now holds
          // (the owner's once-a-second look catches up anyway).
          else void this.changed(lease.entryId).catch(() => undefined);
          const tokens = this.options.runtimeTokens;
          const { entryId, token } = lease;
          const runtime = tokens && (await jobRuntime(tokens, spec, source, `${entryId}:${token}`));
          return { entryId, token, spec, source, ...(runtime ? { runtime } : {}) };
        }
        owed = undefined; // another runner took it
        if (me.woken) continue; // woken while looking: look again
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return undefined;
        let timer: NodeJS.Timeout | undefined;
        let stop: () => void = () => undefined;
        await new Promise<void>((resolve) => {
          me.resolve = resolve;
          stop = resolve;
          timer = setTimeout(resolve, left);
          signal?.addEventListener("abort", stop, { once: true });
        });
        me.resolve = undefined;
        clearTimeout(timer);
        signal?.removeEventListener("abort", stop);
      }
    } finally {
      this.idle.delete(me);
      // A wake this claim will not use goes to another waiting runner.
      if (me.woken && me.woken !== EVERYONE) this.idle.wakeOne(me.woken);
    }
  }

  /**
   * Where a runner's write stands: the job it is about when the lease is the job's current
   * one and this runner's; `stale` when the lease ended or was replaced (or the entry is
   * gone). A write under a lease another runner claimed, or under an entry no runner holds,
   * is refused with a {@link ForbiddenError}: the fencing token alone is easy to guess.
   */
  private async standing(lease: HeldLease): Promise<{ jobKey: string } | "stale"> {
    const entry = await this.queue.entry(lease.entryId);
    if (!entry) return "stale";
    if (entry.runnerId !== lease.runnerId)
      throw new ForbiddenError(`job ${lease.entryId} is not leased to this runner`);
    if (entry.state !== "leased" || entry.token !== lease.token) return "stale";
    return { jobKey: entry.jobKey };
  }

  /**
   * Takes a batch of a job's events from the runner holding its lease: `stale` when the
   * lease is no longer held (nothing is applied), else `ok` once the batch is in the store.
   * The batch must keep to the closed schema of what a runner may report about its own job
   * (`agent/runner-report.ts`): otherwise it is refused whole ({@link ForbiddenError} or an
   * `InputError`), as is a write under another runner's lease. A batch for a job of this
   * process that comes in order is applied at once; any other (a job whose run another
   * process runs, or that this process has not carried on yet after a start) is kept in the
   * store for the run's process to apply.
   */
  send(lease: HeldLease, seq: number, events: readonly unknown[]): Promise<"ok" | "stale"> {
    return this.take(lease, seq, events, "events");
  }

  private async take(
    lease: HeldLease,
    seq: number,
    batch: readonly unknown[],
    where: string,
  ): Promise<"ok" | "stale"> {
    const { entryId, token } = lease;
    const standing = await this.standing(lease);
    if (standing === "stale") return "stale";
    const events = checkRunnerEvents(batch, standing.jobKey, where);
    const waiting = this.waiting.get(entryId);
    if (waiting && seq <= waiting.applied + 1) {
      let ended = false;
      await serially(waiting, async () => {
        // The job ended while this batch waited its turn (its lease was lost meanwhile).
        if (this.waiting.get(entryId) !== waiting) {
          ended = true;
          return;
        }
        if (seq === waiting.applied + 1) {
          if (!waiting.started) await startedFromStore(this.queue, entryId, waiting);
          for (const event of events) waiting.sink(event);
          // Applied from here on, whatever happens below: the sink keeps the events until
          // they are stored, and a retry of this batch (its answer lost) must not add them
          // again.
          waiting.applied = seq;
        }
        // Answered only once the batch is in the store and recorded there as applied, so
        // a batch sent again after a crash of this server is neither lost nor applied
        // twice. A retry of a batch applied already waits for the same, and no more.
        await waiting.settle();
        await this.record(entryId, token, waiting);
      });
      return ended ? "stale" : "ok";
    }
    await this.queue.keepBatch(entryId, seq, JSON.stringify(events));
    if (waiting) await this.catchUp(entryId);
    else await this.changed(entryId);
    return "ok";
  }

  /**
   * Renews a lease; says whether it is still held and whether the job was cancelled. A
   * runner renewing another runner's lease is refused ({@link ForbiddenError}).
   */
  async heartbeat(lease: HeldLease): Promise<HeartbeatAnswer> {
    const answer = await this.queue.renew(lease, this.leaseMs);
    if (!answer.held) await this.standing(lease);
    return answer;
  }

  /**
   * Ends a job with its runner's result, after its last batch (`final`, when given); false
   * when the lease is no longer held. The result and the batch keep to the closed schema,
   * and only the runner holding the lease may complete it (as for `send`). `sent` is the
   * number of the runner's last batch: when this process applied it already, nothing is
   * left to catch up on.
   */
  async complete(
    lease: HeldLease,
    reported: unknown,
    options: { final?: EventBatch; sent?: number } = {},
  ): Promise<boolean> {
    const { entryId } = lease;
    const { final, sent } = options;
    const result = checkRunnerResult(reported);
    if (final && (await this.take(lease, final.seq, final.events, "final.events")) === "stale")
      return false;
    if (!(await this.queue.complete(lease, result))) {
      await this.standing(lease); // another runner's lease: refused, not merely stale
      return false;
    }
    const waiting = this.waiting.get(entryId);
    if (!waiting) await this.changed(entryId);
    else if (sent !== undefined && waiting.applied >= sent && waiting.started)
      await serially(waiting, async () => waiting.resolve(result));
    else await this.catchUp(entryId);
    return true;
  }

  /**
   * Ends the leases of a runner that is gone (the embedded runner of a stopped server, or a
   * removed runner) as lost, as an expired lease ends; resolves to how many.
   */
  async loseRunner(runnerId: string, reason: string): Promise<number> {
    const lost = await this.queue.loseRunner(runnerId, reason);
    for (const entryId of lost) {
      if (this.waiting.has(entryId)) await this.catchUp(entryId);
      else await this.changed(entryId);
    }
    return lost.length;
  }

  /** Fails the jobs whose runners stopped renewing their leases (in any process). */
  async reap(): Promise<void> {
    for (const lost of await this.queue.expire()) {
      if (this.waiting.has(lost.entryId)) await this.catchUp(lost.entryId);
      else await this.changed(lost.entryId);
    }
  }

  /**
   * Fails the jobs no runner took within the queue timeout, with the reason in their log
   * (for this process's jobs; another's learn the end from the store).
   */
  async timeOutQueued(): Promise<void> {
    const limit = this.options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    const now = this.options.now?.() ?? Date.now();
    for (const { entryId, labels } of await this.queue.timeOut(now - limit)) {
      const waiting = this.waiting.get(entryId);
      if (!waiting) {
        await this.changed(entryId);
        continue;
      }
      const why = await this.waitReason(labels);
      const text = `Error: no runner took this job within ${describeDuration(limit)} (the queue timeout): ${why}`;
      waiting.sink({ type: "log", job: waiting.jobKey, stream: "runner", text, at: now });
      await this.catchUp(entryId);
    }
  }

  /** Once a second: reaps, and catches up on this process's jobs that ended elsewhere. */
  private async tick(): Promise<void> {
    await this.reap();
    await this.timeOutQueued();
    for (const entryId of await this.queue.ended([...this.waiting.keys()]))
      await this.catchUp(entryId);
  }

  /**
   * Brings a job of this process up to date from the store: `job.started` once a runner
   * has it, the batches kept for it (in order, each once), and its end.
   */
  private async catchUp(entryId: string): Promise<void> {
    const waiting = this.waiting.get(entryId);
    if (!waiting) return;
    await serially(waiting, async () => {
      const entry = await this.queue.entry(entryId);
      if (!entry) return;
      if (!waiting.started && entry.leasedAt !== null) markStarted(waiting, entry.leasedAt);
      for (const batch of await this.queue.batches(entryId, waiting.applied)) {
        if (batch.seq !== waiting.applied + 1) break; // the missing one is still on its way
        for (const event of JSON.parse(batch.events) as TimedRunnerEvent[]) waiting.sink(event);
        waiting.applied = batch.seq;
      }
      if (waiting.recorded < waiting.applied) {
        await waiting.settle();
        await this.record(entryId, entry.token, waiting);
        await this.queue.dropBatches(entryId, waiting.applied);
      }
      if (entry.state === "done" || entry.state === "lost") {
        // Batches kept here and also applied directly (sent twice, to two processes) go too.
        await this.queue.dropBatches(entryId);
        waiting.resolve(
          (entry.result as JobResult | undefined) ?? {
            status: "failure",
            outputs: {},
            reason: "runner_lost",
          },
        );
      }
    });
  }

  /**
   * Records in the store that the job's batches up to `waiting.applied` are applied (their
   * events are stored already), unless that is recorded already.
   */
  private async record(entryId: string, token: number, waiting: Waiting): Promise<void> {
    const upTo = waiting.applied;
    if (waiting.recorded >= upTo) return;
    await this.queue.applied(entryId, token, upTo);
    waiting.recorded = upTo;
  }
}

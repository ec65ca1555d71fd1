import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { sql } from "kysely";
import pg from "pg";
import type {
  AgentLease,
  HeartbeatAnswer,
  JobSource,
  TimedRunnerEvent,
} from "../../agent/agent-protocol.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import type { RunEvent } from "../../engine/run-events.js";
import { JobQueue, normalise, type QueueRunner } from "../../queue/job-queue.js";
import type { JobResult } from "../../runner/job-runner.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { Store } from "../../store/open-store.js";

/** The Postgres channel on which server processes tell each other a job was queued. */
const CHANNEL = "trunkline_queue";

/** How long a lease lasts without a heartbeat. @default 30 s */
export const DEFAULT_LEASE_MS = 30_000;

/** A job the engine handed out, waiting for its runner. */
interface Waiting {
  readonly sink: (event: RunEvent) => void;
  /** Resolves once every event sunk so far is in the store. */
  readonly settle: () => Promise<void>;
  readonly resolve: (result: JobResult) => void;
  cancelRequested: boolean;
  /** The last event batch applied, so a retried batch is applied once. */
  applied: number;
}

/**
 * The server's side of running jobs on runners: the engine's `execute` puts a job in the
 * queue and waits; runners (the embedded one, or agents over HTTP) long-poll `claim`, then
 * report events, heartbeats and the result under the lease's fencing token. A write with a
 * stale token is refused. A lease not renewed in time is lost: the job fails with the reason
 * `runner_lost`, and the run goes on (dependants skipped, `always()` jobs run).
 */
export class JobDispatch {
  private readonly queue: JobQueue;
  private readonly waiting = new Map<string, Waiting>();
  private readonly enqueued = new EventEmitter();
  private reaper: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  /** Runners in this process (the embedded one), which the runners table does not list. */
  private readonly local: QueueRunner[] = [];
  readonly leaseMs: number;

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly box: SecretBox;
      readonly leaseMs?: number;
      readonly now?: () => number;
    },
  ) {
    this.queue = new JobQueue(options.store.db, options.store.dialect, options.now);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.enqueued.setMaxListeners(0);
  }

  /** Counts a runner in this process among those that can take jobs (for wait reasons). */
  addLocalRunner(runner: QueueRunner): void {
    this.local.push(runner);
  }

  /** Why a job with these labels waits: no runner has them, or those that do are busy. */
  async waitReason(labels: readonly string[]): Promise<string> {
    const wanted = normalise(labels);
    const rows = await this.options.store.db.selectFrom("runners").select("labels").execute();
    const all = [
      ...this.local.map((r) => normalise(r.labels)),
      ...rows.map((r) => JSON.parse(r.labels) as string[]),
    ];
    const fitting = all.filter((have) => wanted.every((l) => have.includes(l)));
    const list = `[${wanted.join(", ")}]`;
    return fitting.length === 0
      ? `no runner with labels ${list}`
      : `waiting for a free runner with labels ${list} (${fitting.length} registered)`;
  }

  /**
   * Starts looking for expired leases, every second, and, on Postgres, listening for jobs
   * other server processes queue (`LISTEN`), so their claims wake here too.
   */
  async start(): Promise<void> {
    this.reaper = setInterval(() => void this.reap().catch(() => undefined), 1_000);
    this.reaper.unref();
    const url = this.options.store.url;
    if (this.options.store.dialect !== "postgres" || !url) return;
    const client = new pg.Client({ connectionString: url });
    client.on("notification", () => this.enqueued.emit("job"));
    client.on("error", () => undefined); // a lost listener only delays other processes' jobs
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  /** Stops looking for expired leases and listening. */
  async stop(): Promise<void> {
    if (this.reaper) clearInterval(this.reaper);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  /**
   * Queues a job and resolves with its result once a runner reports it (or loses it). A
   * cancel withdraws a job no runner has yet, and asks the runner of a running one to end it.
   */
  async execute(
    job: {
      runId: string;
      attempt: number;
      source: JobSource;
      sink: (event: RunEvent) => void;
      settle: () => Promise<void>;
    },
    spec: JobSpec,
    cancel: AbortSignal,
  ): Promise<JobResult> {
    // A job a stopped server had queued: wait for it again where it is (a runner may be
    // running it), or take the end it already had.
    const earlier = await this.queue.latest(job.runId, job.attempt, spec.key);
    if (earlier && earlier.state !== "queued" && earlier.state !== "leased")
      return (
        (earlier.result as JobResult | undefined) ?? {
          status: "failure",
          outputs: {},
          reason: "runner_lost",
        }
      );
    const sealed = this.options.box.seal(JSON.stringify({ spec, source: job.source }), "queue");
    job.sink({
      type: "job.waiting",
      job: spec.key,
      reason: "capacity",
      detail: await this.waitReason(spec.runsOn),
      at: Date.now(),
    });
    // The job is known here before it is in the queue: a runner may take it the moment it is.
    const entryId = earlier?.id ?? randomUUID();
    let settle: (result: JobResult) => void = () => undefined;
    const done = new Promise<JobResult>((resolve) => {
      settle = resolve;
    });
    const onCancel = () => {
      waiting.cancelRequested = true;
      void this.queue.withdraw(entryId).then((withdrawn) => {
        if (withdrawn) waiting.resolve({ status: "cancelled", outputs: {} });
      });
    };
    const waiting: Waiting = {
      sink: job.sink,
      settle: job.settle,
      resolve: (result) => {
        this.waiting.delete(entryId);
        cancel.removeEventListener("abort", onCancel);
        settle(result);
      },
      cancelRequested: false,
      applied: earlier?.appliedSeq ?? 0,
    };
    this.waiting.set(entryId, waiting);
    if (earlier) {
      if (cancel.aborted) onCancel();
      else cancel.addEventListener("abort", onCancel, { once: true });
      return done;
    }
    await this.queue.enqueue({
      id: entryId,
      runId: job.runId,
      jobKey: spec.key,
      attempt: job.attempt,
      labels: spec.runsOn,
      spec: sealed,
    });
    if (cancel.aborted) onCancel();
    else cancel.addEventListener("abort", onCancel, { once: true });
    this.enqueued.emit("job");
    if (this.options.store.dialect === "postgres")
      await sql`SELECT pg_notify(${CHANNEL}, '')`.execute(this.options.store.db);
    return done;
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
    for (;;) {
      // Listen before looking, so a job queued in between is not missed.
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.enqueued.once("job", wake);
      try {
        const lease = await this.queue.claim(runner, this.leaseMs);
        if (lease) {
          const { spec, source } = JSON.parse(this.options.box.open(lease.spec, "queue")) as {
            spec: JobSpec;
            source: JobSource;
          };
          this.waiting.get(lease.entryId)?.sink({
            type: "job.started",
            job: spec.key,
            name: spec.name,
            at: Date.now(),
          });
          return { entryId: lease.entryId, token: lease.token, spec, source };
        }
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return undefined;
        let timer: NodeJS.Timeout | undefined;
        let stop: () => void = () => undefined;
        await Promise.race([
          woken,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, left);
            stop = resolve;
            signal?.addEventListener("abort", stop, { once: true });
          }),
        ]);
        clearTimeout(timer);
        signal?.removeEventListener("abort", stop);
      } finally {
        this.enqueued.off("job", wake);
      }
    }
  }

  /**
   * Applies a batch of a job's events: `stale` when the token is not the lease's (nothing
   * applied), `later` when the lease holds but this server is not (yet) running the job's
   * run (it is starting up and carrying runs on): the runner should send it again.
   */
  async send(
    entryId: string,
    token: number,
    seq: number,
    events: readonly TimedRunnerEvent[],
  ): Promise<"ok" | "stale" | "later"> {
    if (!(await this.queue.holds(entryId, token))) return "stale";
    const waiting = this.waiting.get(entryId);
    if (!waiting) return "later";
    if (seq <= waiting.applied) return "ok"; // a retry of a batch already applied
    for (const event of events) waiting.sink(event);
    // Answered only once the batch is in the store, and remembered there, so a batch sent
    // again after a crash of this server is neither lost nor applied twice.
    await waiting.settle();
    await this.queue.applied(entryId, token, seq);
    waiting.applied = seq;
    return "ok";
  }

  /** Renews a lease; says whether it is still held and whether the job was cancelled. */
  async heartbeat(entryId: string, token: number): Promise<HeartbeatAnswer> {
    const held = await this.queue.renew(entryId, token, this.leaseMs);
    return { held, cancel: held && (this.waiting.get(entryId)?.cancelRequested ?? false) };
  }

  /** Ends a job with its runner's result; false when the token is stale. */
  async complete(entryId: string, token: number, result: JobResult): Promise<boolean> {
    const done = await this.queue.complete(entryId, token, result);
    if (done) this.waiting.get(entryId)?.resolve(result);
    return done;
  }

  /** Ends the leases of a runner that is gone (the embedded runner of a stopped server). */
  loseRunner(runnerId: string, reason: string): Promise<number> {
    return this.queue.loseRunner(runnerId, reason);
  }

  /** Fails the jobs whose runners stopped renewing their leases. */
  async reap(): Promise<void> {
    for (const lost of await this.queue.expire())
      this.waiting
        .get(lost.entryId)
        ?.resolve({ status: "failure", outputs: {}, reason: "runner_lost" });
  }
}

import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { Database } from "../store/database.js";
import type { StoreDialect } from "../store/open-store.js";

/**
 * A lease as its runner names it in every write: the job's entry, the runner that claimed
 * it, and the fencing token. A write is applied only when all three are the entry's.
 */
export interface HeldLease {
  readonly entryId: string;
  readonly runnerId: string;
  readonly token: number;
}

/** A job a runner holds: valid while `token` is the job's newest and `expiresAt` not passed. */
export interface Lease extends HeldLease {
  readonly runId: string;
  readonly jobKey: string;
  readonly expiresAt: number;
  /** The sealed JobSpec. */
  readonly spec: string;
}

/** A runner as the queue sees it. */
export interface QueueRunner {
  readonly id: string;
  /** Lower-cased. */
  readonly labels: readonly string[];
  /**
   * The runner is an agent in the `runners` table: it takes a job only while it is there,
   * so a claim still waiting when the runner was removed takes nothing. (A server's embedded
   * runner is not in the table.)
   */
  readonly registered?: boolean;
}

/** How a queued job ended. */
export interface QueueResult {
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly reason?: string;
}

/**
 * The durable job queue, in the store, for SQLite and Postgres alike. A job is taken by one
 * runner at a time under a lease; each grant raises the job's fencing token, so writes from
 * a runner whose lease was taken away are refused. A runner is offered only jobs whose
 * `runs-on` labels it has all of (case-insensitive, as on GitHub).
 *
 * Taking a job is one atomic statement: on Postgres the candidate row is locked with
 * `FOR UPDATE SKIP LOCKED`, so several server processes never hand out the same job; SQLite
 * serialises writers.
 */
export class JobQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
    private readonly now: () => number = Date.now,
  ) {}

  /** Puts a job in the queue (under `id`, when given); resolves to its entry id. */
  async enqueue(job: {
    id?: string;
    runId: string;
    jobKey: string;
    attempt: number;
    labels: readonly string[];
    spec: string;
  }): Promise<string> {
    const id = job.id ?? randomUUID();
    await this.db
      .insertInto("queue")
      .values({
        id,
        run_id: job.runId,
        job_key: job.jobKey,
        attempt: job.attempt,
        labels: JSON.stringify(normalise(job.labels)),
        spec: job.spec,
        state: "queued",
        runner_id: null,
        lease_expires_at: null,
        enqueued_at: this.now(),
        leased_at: null,
        finished_at: null,
        result: null,
      })
      .execute();
    return id;
  }

  /** Leases the oldest queued job this runner can take, for `leaseMs`; undefined when none. */
  async claim(runner: QueueRunner, leaseMs: number): Promise<Lease | undefined> {
    const now = this.now();
    const labels = JSON.stringify(normalise(runner.labels));
    const fits =
      this.dialect === "postgres"
        ? sql`q.labels::jsonb <@ ${labels}::jsonb`
        : sql`NOT EXISTS (SELECT 1 FROM json_each(q.labels) AS l WHERE l.value NOT IN (SELECT value FROM json_each(${labels})))`;
    const lock = this.dialect === "postgres" ? sql`FOR UPDATE SKIP LOCKED` : sql``;
    const present = runner.registered
      ? sql`AND EXISTS (SELECT 1 FROM runners AS r WHERE r.id = ${runner.id})`
      : sql``;
    const result = await sql<{
      id: string;
      run_id: string;
      job_key: string;
      lease_token: number;
      lease_expires_at: number;
      spec: string;
    }>`
      UPDATE queue SET state = 'leased', runner_id = ${runner.id},
        lease_token = lease_token + 1, lease_expires_at = ${now + leaseMs}, leased_at = ${now}
      WHERE id = (
        SELECT q.id FROM queue AS q
        WHERE q.state = 'queued' AND ${fits} ${present}
        ORDER BY q.enqueued_at, q.id
        LIMIT 1 ${lock}
      ) AND state = 'queued'
      RETURNING id, run_id, job_key, lease_token, lease_expires_at, spec
    `.execute(this.db);
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      entryId: row.id,
      runnerId: runner.id,
      runId: row.run_id,
      jobKey: row.job_key,
      token: Number(row.lease_token),
      expiresAt: Number(row.lease_expires_at),
      spec: row.spec,
    };
  }

  /**
   * Extends a lease. `held` is false when the token is no longer the job's lease (lost, or
   * done) or the runner is not the one that claimed it; `cancel` is true once the job was
   * cancelled.
   */
  async renew(lease: HeldLease, leaseMs: number): Promise<{ held: boolean; cancel: boolean }> {
    const row = await this.db
      .updateTable("queue")
      .set({ lease_expires_at: this.now() + leaseMs })
      .where("id", "=", lease.entryId)
      .where("runner_id", "=", lease.runnerId)
      .where("lease_token", "=", lease.token)
      .where("state", "=", "leased")
      .returning("cancel_requested")
      .executeTakeFirst();
    return { held: row !== undefined, cancel: Number(row?.cancel_requested ?? 0) === 1 };
  }

  /** Asks the runner of a leased job to end it (it hears so with its next renewal). */
  async requestCancel(entryId: string): Promise<void> {
    await this.db
      .updateTable("queue")
      .set({ cancel_requested: 1 })
      .where("id", "=", entryId)
      .execute();
  }

  /** Keeps an event batch for the process running the job's run to apply (see `batches`). */
  async keepBatch(entryId: string, seq: number, events: string): Promise<void> {
    await this.db
      .insertInto("queue_batches")
      .values({ entry_id: entryId, seq, events })
      .onConflict((c) => c.columns(["entry_id", "seq"]).doNothing())
      .execute();
  }

  /** The kept batches of a job after `seq`, in order. */
  async batches(entryId: string, after: number): Promise<{ seq: number; events: string }[]> {
    const rows = await this.db
      .selectFrom("queue_batches")
      .select(["seq", "events"])
      .where("entry_id", "=", entryId)
      .where("seq", ">", after)
      .orderBy("seq")
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), events: r.events }));
  }

  /** Forgets a job's kept batches up to `seq` (they are applied), or all of them. */
  async dropBatches(entryId: string, upTo?: number): Promise<void> {
    let query = this.db.deleteFrom("queue_batches").where("entry_id", "=", entryId);
    if (upTo !== undefined) query = query.where("seq", "<=", upTo);
    await query.execute();
  }

  /** Of these entries, those that ended (done or lost). */
  async ended(entryIds: readonly string[]): Promise<string[]> {
    if (entryIds.length === 0) return [];
    const rows = await this.db
      .selectFrom("queue")
      .select("id")
      .where("id", "in", entryIds)
      .where("state", "in", ["done", "lost"])
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Whether a write under this lease may be applied: the token is the job's newest, the job
   * is leased, and to this runner.
   */
  async holds(lease: HeldLease): Promise<boolean> {
    const row = await this.db
      .selectFrom("queue")
      .select(["lease_token", "state", "runner_id"])
      .where("id", "=", lease.entryId)
      .executeTakeFirst();
    return (
      row !== undefined &&
      row.state === "leased" &&
      row.runner_id === lease.runnerId &&
      Number(row.lease_token) === lease.token
    );
  }

  /** Whether the job is leased under this token now (`<entry>:<token>`), by whichever runner. */
  async leased(lease: string): Promise<boolean> {
    const colon = lease.lastIndexOf(":");
    const [entryId, token] = [lease.slice(0, colon), Number(lease.slice(colon + 1))];
    const row = await this.db
      .selectFrom("queue")
      .select(["lease_token", "state"])
      .where("id", "=", entryId)
      .executeTakeFirst();
    return row?.state === "leased" && Number(row.lease_token) === token;
  }

  /**
   * Ends a leased job with its result; false (and nothing changes) for a stale token or a
   * runner that does not hold the lease.
   */
  async complete(lease: HeldLease, result: QueueResult): Promise<boolean> {
    const done = await this.db
      .updateTable("queue")
      .set({ state: "done", finished_at: this.now(), result: JSON.stringify(result) })
      .where("id", "=", lease.entryId)
      .where("runner_id", "=", lease.runnerId)
      .where("lease_token", "=", lease.token)
      .where("state", "=", "leased")
      .executeTakeFirst();
    return Number(done.numUpdatedRows) === 1;
  }

  /**
   * Ends every lease that expired: the job is `lost` (its runner stopped answering) and can
   * be neither renewed nor completed. Resolves to the entries it ended.
   */
  async expire(): Promise<{ entryId: string; runId: string; jobKey: string }[]> {
    const now = this.now();
    const rows = await this.db
      .updateTable("queue")
      .set({
        state: "lost",
        finished_at: now,
        result: JSON.stringify({ status: "failure", outputs: {}, reason: "runner_lost" }),
      })
      .where("state", "=", "leased")
      .where("lease_expires_at", "<", now)
      .returning(["id", "run_id", "job_key"])
      .execute();
    return rows.map((r) => ({ entryId: r.id, runId: r.run_id, jobKey: r.job_key }));
  }

  /**
   * Fails every job queued before `before` that no runner has taken (GitHub's queue timeout:
   * a job whose labels nothing serves does not keep its run open for ever), with `reason`
   * `queue_timeout`. Resolves to the entries it ended, with their labels.
   */
  async timeOut(before: number): Promise<{ entryId: string; labels: string[] }[]> {
    const stale = await this.db
      .selectFrom("queue")
      .select(["id", "labels"])
      .where("state", "=", "queued")
      .where("enqueued_at", "<", before)
      .execute();
    const ended: { entryId: string; labels: string[] }[] = [];
    const result = { status: "failure", outputs: {}, reason: "queue_timeout" };
    for (const row of stale) {
      const done = await this.db
        .updateTable("queue")
        .set({ state: "done", finished_at: this.now(), result: JSON.stringify(result) })
        .where("id", "=", row.id)
        .where("state", "=", "queued")
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) === 1)
        ended.push({ entryId: row.id, labels: JSON.parse(row.labels) as string[] });
    }
    return ended;
  }

  /** Takes a job out of the queue before any runner has it (a cancel); false once leased. */
  async withdraw(entryId: string): Promise<boolean> {
    const result = await this.db
      .updateTable("queue")
      .set({
        state: "done",
        finished_at: this.now(),
        result: JSON.stringify({ status: "cancelled", outputs: {} }),
      })
      .where("id", "=", entryId)
      .where("state", "=", "queued")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The newest entry of a job in a run attempt, if it was ever queued. */
  async latest(
    runId: string,
    attempt: number,
    jobKey: string,
  ): Promise<{ id: string; state: string; appliedSeq: number; result?: QueueResult } | undefined> {
    const row = await this.db
      .selectFrom("queue")
      .select(["id", "state", "applied_seq", "result"])
      .where("run_id", "=", runId)
      .where("attempt", "=", attempt)
      .where("job_key", "=", jobKey)
      .orderBy("enqueued_at", "desc")
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      state: row.state,
      appliedSeq: Number(row.applied_seq),
      ...(row.result ? { result: JSON.parse(row.result) as QueueResult } : {}),
    };
  }

  /** Records that the runner's batches up to `seq` are in the store. */
  async applied(entryId: string, token: number, seq: number): Promise<void> {
    await this.db
      .updateTable("queue")
      .set({ applied_seq: seq })
      .where("id", "=", entryId)
      .where("lease_token", "=", token)
      .execute();
  }

  /**
   * Ends the leases a runner held (it is gone: an embedded runner whose server stopped, or a
   * runner that was removed); resolves to the entries it ended.
   */
  async loseRunner(runnerId: string, reason: string): Promise<string[]> {
    const rows = await this.db
      .updateTable("queue")
      .set({
        state: "lost",
        finished_at: this.now(),
        result: JSON.stringify({ status: "failure", outputs: {}, reason }),
      })
      .where("state", "=", "leased")
      .where("runner_id", "=", runnerId)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /** An entry's job, state, lease and result. */
  async entry(entryId: string): Promise<
    | {
        jobKey: string;
        state: string;
        runnerId: string | null;
        token: number;
        leasedAt: number | null;
        result?: QueueResult;
      }
    | undefined
  > {
    const row = await this.db
      .selectFrom("queue")
      .select(["job_key", "state", "runner_id", "lease_token", "leased_at", "result"])
      .where("id", "=", entryId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      jobKey: row.job_key,
      state: row.state,
      runnerId: row.runner_id,
      token: Number(row.lease_token),
      leasedAt: row.leased_at === null ? null : Number(row.leased_at),
      ...(row.result ? { result: JSON.parse(row.result) as QueueResult } : {}),
    };
  }
}

/** Labels as the queue compares them: lower-cased, without duplicates, sorted. */
export function normalise(labels: readonly string[]): string[] {
  return [...new Set(labels.map((l) => l.trim().toLowerCase()).filter(Boolean))].sort();
}

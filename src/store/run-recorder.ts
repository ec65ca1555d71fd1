import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { RunEvent } from "../engine/run-events.js";
import { type Database, UNFINISHED_STATUSES } from "./database.js";
import { appendEvents } from "./event-log.js";

/** Log lines kept in memory per job before they are written as one chunk. */
const CHUNK_LINES = 100;

/** The longest a log line waits in memory before live readers can see it. */
const FLUSH_MS = 250;

/**
 * Keeps one run in the store as its events arrive: the event log, job and step rows, log
 * chunks (with line offsets, so a reader can resume from any line) and annotations. Writes
 * happen one after another in event order; events that arrive while a write is going on
 * are appended to the log together, in one statement. `flush` waits for them all.
 */
export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  /** Events not yet in the log, in order. */
  private queued: RunEvent[] = [];
  private readonly jobIds = new Map<string, string>();
  private readonly pending = new Map<string, string[]>();
  private readonly written = new Map<string, number>();
  private failure: Error | undefined;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly runId: string,
    private readonly attempt = 1,
  ) {}

  /**
   * A recorder that carries on an attempt a stopped server was recording: it knows the job
   * rows already written and where each job's log stands, so lines go on without a gap.
   */
  static async resume(db: Kysely<Database>, runId: string, attempt: number): Promise<RunRecorder> {
    const recorder = new RunRecorder(db, runId, attempt);
    const jobs = await db
      .selectFrom("jobs")
      .select(["id", "key"])
      .where("run_id", "=", runId)
      .where("attempt", "=", attempt)
      .execute();
    for (const job of jobs) {
      recorder.jobIds.set(job.key, job.id);
      const end = await db
        .selectFrom("log_chunks")
        .select((eb) => eb.fn.max(eb("offset", "+", eb.ref("line_count"))).as("end"))
        .where("job_id", "=", job.id)
        .executeTakeFirst();
      recorder.written.set(job.key, Number(end?.end ?? 0));
    }
    return recorder;
  }

  /**
   * Records an event (asynchronously, in order). A write the store refuses for a while (a
   * database restart, a dropped connection) is tried again until it goes through, so an
   * outage delays the record but loses nothing; every write is safe to repeat.
   */
  handle(event: RunEvent): void {
    // Log lines wait in memory, in order; chunk writes take them from there.
    if (event.type === "log") {
      const lines = this.pending.get(event.job) ?? [];
      lines.push(event.text);
      this.pending.set(event.job, lines);
    }
    this.queued.push(event);
    if (this.queued.length === 1) this.enqueue(() => this.drain());
  }

  /** Writes after everything enqueued before; a failure is kept for `flush` to throw. */
  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(write).catch((err: Error) => {
      this.failure ??= err;
    });
  }

  /** Appends the queued events to the log in one go, then brings the rows up to date. */
  private async drain(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    await persist(() =>
      appendEvents(
        this.db,
        batch.map((event) => ({ runId: this.runId, type: event.type, at: event.at, data: event })),
      ),
    );
    for (const event of batch) await persist(() => this.write(event));
  }

  /**
   * Waits for every write so far, the lines waiting in memory written too; throws the first
   * write that failed. The lines are written on the chain like every other write: two chunk
   * writes of one job at once would take the same offset, and the second one's lines would
   * be dropped as written (flushes overlap: each batch a runner sends waits for one).
   */
  async flush(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.enqueue(async () => {
      for (const job of [...this.pending.keys()]) await persist(() => this.writeChunk(job));
    });
    await this.chain;
    if (this.failure) throw this.failure;
  }

  /** The store id of a job, by its key in the run. */
  jobId(key: string): string | undefined {
    return this.jobIds.get(key);
  }

  /** Brings the rows an event changes up to date (it is in the log already). */
  private async write(event: RunEvent): Promise<void> {
    const db = this.db;
    switch (event.type) {
      case "run.started":
        await db
          .updateTable("runs")
          .set({
            status: "in_progress",
            // A resumed attempt keeps the time it first started.
            started_at: sql<number>`coalesce(started_at, ${event.at})`,
          })
          .where("id", "=", this.runId)
          .execute();
        return;
      case "run.finished":
        await db
          .updateTable("runs")
          .set({ status: event.status, finished_at: event.at })
          .where("id", "=", this.runId)
          .execute();
        return;
      case "job.queued":
        await this.ensureJob(event.job, event.name, "queued");
        return;
      case "job.waiting":
        // A job waits for a runner (or a group): it is queued again, and says why; one its
        // environment holds (a wait timer) is `waiting`, as on GitHub.
        await this.setJob(event.job, event.job, {
          status: event.reason === "timer" || event.reason === "approval" ? "waiting" : "queued",
          reason: event.detail,
        });
        return;
      case "job.started":
        await this.setJob(event.job, event.name, {
          status: "in_progress",
          started_at: event.at,
          reason: null,
        });
        return;
      case "job.finished": {
        const id = await this.ensureJob(event.job, event.name, event.status);
        await this.writeChunk(event.job);
        await db
          .updateTable("jobs")
          .set({
            status: event.status,
            reason: event.reason ?? null,
            finished_at: event.at,
            outputs: JSON.stringify(event.outputs),
          })
          .where("id", "=", id)
          .execute();
        return;
      }
      case "step.started": {
        const id = await this.ensureJob(event.job, event.job, "in_progress");
        await db
          .insertInto("steps")
          .values({
            job_id: id,
            number: event.step,
            name: event.name,
            stage: event.stage,
            outcome: null,
            conclusion: null,
            started_at: event.at,
            finished_at: null,
          })
          .onConflict((oc) => oc.columns(["job_id", "number"]).doNothing())
          .execute();
        return;
      }
      case "step.finished": {
        // Usually the step's row is there (step.started); a step that never started gets one.
        const id = await this.ensureJob(event.job, event.job, "in_progress");
        await db
          .insertInto("steps")
          .values({
            job_id: id,
            number: event.step,
            name: event.name,
            stage: event.stage,
            outcome: event.outcome,
            conclusion: event.conclusion,
            started_at: event.at,
            finished_at: event.at,
          })
          .onConflict((oc) =>
            oc.columns(["job_id", "number"]).doUpdateSet({
              outcome: event.outcome,
              conclusion: event.conclusion,
              finished_at: event.at,
            }),
          )
          .execute();
        await this.writeChunk(event.job);
        return;
      }
      case "log": {
        if ((this.pending.get(event.job)?.length ?? 0) >= CHUNK_LINES)
          await this.writeChunk(event.job);
        else this.flushSoon(event.job);
        return;
      }
      case "annotation": {
        const id = await this.ensureJob(event.job, event.job, "in_progress");
        const a = event.annotation;
        await db
          .insertInto("annotations")
          .values({
            job_id: id,
            level: a.level,
            message: a.message,
            title: a.title ?? null,
            file: a.file ?? null,
            line: a.line ?? null,
            column: a.column ?? null,
          })
          .execute();
        return;
      }
      default:
        return;
    }
  }

  /** Lines of a chatty step are written in chunks; a quiet one's lines reach readers within this. */
  private flushSoon(job: string): void {
    if (this.timers.has(job)) return;
    const timer = setTimeout(() => {
      this.timers.delete(job);
      this.enqueue(() => persist(() => this.writeChunk(job)));
    }, FLUSH_MS);
    timer.unref();
    this.timers.set(job, timer);
  }

  /**
   * Sets a job's status (and what goes with it) in one statement: an update of a row this
   * recorder knows, else an insert that updates the row a stopped server made instead.
   */
  private async setJob(
    key: string,
    name: string,
    set: { status: string; reason: string | null; started_at?: number },
  ): Promise<void> {
    const known = this.jobIds.get(key);
    if (known) await this.db.updateTable("jobs").set(set).where("id", "=", known).execute();
    else await this.insertJob(key, name, set, set);
  }

  /**
   * The id of a job's row, made (with this status) when the job has none yet; a row a
   * stopped server made is found and kept as it is.
   */
  private async ensureJob(key: string, name: string, status: string): Promise<string> {
    const known = this.jobIds.get(key);
    if (known) return known;
    // The no-op update makes the existing row's id come back: one statement either way.
    return this.insertJob(key, name, { status, reason: null }, { key });
  }

  /** Inserts a job's row, or updates the existing one with `onConflict`; its id, remembered. */
  private async insertJob(
    key: string,
    name: string,
    values: { status: string; reason: string | null; started_at?: number },
    onConflict: Partial<{ key: string; status: string; reason: string | null; started_at: number }>,
  ): Promise<string> {
    const row = await this.db
      .insertInto("jobs")
      .values({
        id: randomUUID(),
        run_id: this.runId,
        attempt: this.attempt,
        key,
        name,
        started_at: null,
        finished_at: null,
        outputs: "{}",
        ...values,
      })
      .onConflict((oc) => oc.columns(["run_id", "attempt", "key"]).doUpdateSet(onConflict))
      .returning("id")
      .executeTakeFirstOrThrow();
    this.jobIds.set(key, row.id);
    return row.id;
  }

  /**
   * Writes a job's waiting lines as one chunk; state moves on only once it is stored. The
   * chunk is tried again exactly as it was first sent: a try that was stored though its
   * answer was lost (a connection cut after the commit) is then found there, and lines that
   * came in meanwhile go into the next chunk instead of being taken for stored.
   */
  private async writeChunk(job: string): Promise<void> {
    const lines = this.pending.get(job);
    if (!lines || lines.length === 0) return;
    const taken = lines.slice();
    const offset = this.written.get(job) ?? 0;
    await persist(async () => {
      const id = await this.ensureJob(job, job, "in_progress");
      await this.db
        .insertInto("log_chunks")
        .values({ job_id: id, offset, lines: taken.join("\n"), line_count: taken.length })
        .onConflict((oc) => oc.columns(["job_id", "offset"]).doNothing())
        .execute();
    });
    lines.splice(0, taken.length);
    this.written.set(job, offset + taken.length);
  }
}

/** One page of a job's log, as {@link readLog} reads it. */
export interface LogPage {
  /** The lines from `from` on, at most `limit` of them. */
  readonly lines: string[];
  /** The number (from 0) of the line after the last one returned: the next page's `from`. */
  readonly next: number;
  /** Whether lines after `next` are already stored (a running job may add more later). */
  readonly more: boolean;
}

/**
 * At most `limit` lines of a job's log from line `from` (0-based) on, read from its chunks.
 * Only the chunks overlapping those lines (and the one line after them, to tell `more`) are
 * read, so a page's cost does not grow with the log.
 */
export async function readLog(
  db: Kysely<Database>,
  jobId: string,
  from: number,
  limit: number,
): Promise<LogPage> {
  const end = from + limit; // the first line not returned, read only to tell `more`
  const chunks = await db
    .selectFrom("log_chunks")
    .select(["offset", "lines", "line_count"])
    .where("job_id", "=", jobId)
    .where("offset", "<=", end)
    .where((eb) => eb(eb("offset", "+", eb.ref("line_count")), ">", from))
    .orderBy("offset")
    .execute();
  const lines: string[] = [];
  for (const chunk of chunks) {
    const offset = Number(chunk.offset);
    const chunkLines = chunk.lines.split("\n");
    lines.push(...chunkLines.slice(Math.max(0, from - offset), end + 1 - offset));
  }
  const more = lines.length > limit;
  if (more) lines.length = limit;
  return { lines, next: from + lines.length, more };
}

/**
 * Ends what a stopped server left unfinished and cannot be carried on (all such runs, or
 * `only` these): runs and jobs still queued or in progress end as failures with the reason
 * `server_restarted` instead of staying stuck. Returns how many runs it ended.
 */
export async function resolveUnfinished(
  db: Kysely<Database>,
  now = Date.now(),
  only?: readonly string[],
): Promise<number> {
  const open = UNFINISHED_STATUSES;
  if (only && only.length === 0) return 0;
  let query = db.selectFrom("runs").select("id").where("status", "in", open);
  if (only) query = query.where("id", "in", only);
  const runs = await query.execute();
  if (runs.length === 0) return 0;
  const ids = runs.map((r) => r.id);
  // Their jobs' queue entries go with them: no runner may take or finish them now.
  await db
    .updateTable("queue")
    .set({
      state: "lost",
      finished_at: now,
      result: JSON.stringify({ status: "failure", outputs: {}, reason: "server_restarted" }),
    })
    .where("state", "in", ["queued", "leased"])
    .where("run_id", "in", ids)
    .execute();
  await db
    .updateTable("jobs")
    .set({ status: "failure", reason: "server_restarted", finished_at: now })
    .where("status", "in", open)
    .where("run_id", "in", ids)
    .execute();
  await db
    .updateTable("runs")
    .set({ status: "failure", finished_at: now })
    .where("id", "in", ids)
    .execute();
  await appendEvents(
    db,
    runs.map((r) => ({
      runId: r.id,
      type: "run.finished",
      at: now,
      data: { status: "failure", reason: "server_restarted" },
    })),
  );
  return runs.length;
}

/** How long a write keeps being tried while the store is unreachable. */
const PERSIST_FOR_MS = 5 * 60_000;

/** Errors that say the store is away for now (it will take the same write later). */
function transient(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "EPIPE",
      "ETIMEDOUT",
      "SQLITE_BUSY",
      "57P01",
      "57P02",
      "57P03",
    ].includes(e.code ?? "") ||
    (e.code ?? "").startsWith("08") ||
    /Connection terminated|connection ended|Client has encountered a connection error/i.test(
      e.message ?? "",
    )
  );
}

/** Runs a store write, trying it again with backoff while the store is away. */
async function persist<T>(write: () => Promise<T>): Promise<T> {
  const giveUp = Date.now() + PERSIST_FOR_MS;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await write();
    } catch (err) {
      if (!transient(err) || Date.now() > giveUp) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

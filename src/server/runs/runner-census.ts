import type { Kysely } from "kysely";
import { normalise, type QueueRunner } from "../../queue/job-queue.js";
import type { Database } from "../../store/database.js";

/** How long the registered runners' labels are reused for wait reasons. */
const RUNNERS_FOR_MS = 1_000;

/**
 * The runners that could take a job, for the reason a job waits: those in this process (the
 * embedded runner, which the runners table does not list) and the registered agents.
 */
export class RunnerCensus {
  private readonly local: QueueRunner[] = [];
  private runners: { at: number; labels: Promise<string[][]> } | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** Counts a runner in this process. */
  addLocal(runner: QueueRunner): void {
    this.local.push(runner);
  }

  /** Why a job with these labels waits: no runner has them, or those that do are busy. */
  async waitReason(labels: readonly string[]): Promise<string> {
    const wanted = normalise(labels);
    const all = [...this.local.map((r) => normalise(r.labels)), ...(await this.registered())];
    const fitting = all.filter((have) => wanted.every((l) => have.includes(l)));
    const list = `[${wanted.join(", ")}]`;
    return fitting.length === 0
      ? `no runner with labels ${list}`
      : `waiting for a free runner with labels ${list} (${fitting.length} registered)`;
  }

  /**
   * The registered runners' labels, read at most once a second: a run of many jobs asks for
   * each of them at once.
   */
  private registered(): Promise<string[][]> {
    const now = Date.now();
    if (!this.runners || now - this.runners.at >= RUNNERS_FOR_MS) {
      const labels = this.db
        .selectFrom("runners")
        .select("labels")
        .execute()
        .then((rows) => rows.map((r) => JSON.parse(r.labels) as string[]));
      this.runners = { at: now, labels };
      labels.catch(() => {
        this.runners = undefined;
      });
    }
    return this.runners.labels;
  }
}

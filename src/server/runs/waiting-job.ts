import type { RunEvent } from "../../engine/run-events.js";
import type { JobQueue } from "../../queue/job-queue.js";
import type { JobResult } from "../../runner/job-runner.js";

/** A job the engine handed out, waiting for its runner. */
export interface Waiting {
  readonly jobKey: string;
  readonly name: string;
  readonly sink: (event: RunEvent) => void;
  /** Resolves once every event sunk so far is in the store. */
  readonly settle: () => Promise<void>;
  readonly resolve: (result: JobResult) => void;
  /** Whether `job.started` was sunk. */
  started: boolean;
  /**
   * The last event batch applied: its events went to `sink`, which keeps them until they are
   * in the store. A batch sent again (its answer was lost) is never sunk twice.
   */
  applied: number;
  /** The last batch recorded in the store as applied (`applied_seq`), for a restarted server. */
  recorded: number;
  /** Batches, catch-ups and the end are applied one after another, in this chain. */
  chain: Promise<void>;
}

/** Sinks `job.started` with the time the runner took the job. */
export function markStarted(waiting: Waiting, at: number): void {
  waiting.started = true;
  waiting.sink({ type: "job.started", job: waiting.jobKey, name: waiting.name, at });
}

/** Runs `work` after everything queued for this job before it. */
export function serially(waiting: Waiting, work: () => Promise<void>): Promise<void> {
  const next = waiting.chain.then(work);
  waiting.chain = next.catch(() => undefined);
  return next;
}

/** Sinks `job.started` with the time the store says the runner took the job. */
export async function startedFromStore(
  queue: JobQueue,
  entryId: string,
  waiting: Waiting,
): Promise<void> {
  const entry = await queue.entry(entryId);
  markStarted(waiting, entry?.leasedAt ?? Date.now());
}

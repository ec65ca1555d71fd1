import type { Kysely } from "kysely";
import { NotFoundError } from "../../common/errors.js";
import type { Database } from "../../store/database.js";

/** How one attempt of a run went. */
export interface AttemptRecord {
  /** How it ended; `unknown` when the event log holds no end for it. */
  readonly status: string;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/** A {@link NotFoundError} for an attempt a run does not have, naming those it has. */
export function noSuchAttempt(what: string, attempt: number, latest: number): NotFoundError {
  const has = latest === 1 ? "it has attempt 1 only" : `it has attempts 1 to ${latest}`;
  return new NotFoundError(`${what} has no attempt ${attempt}; ${has}`);
}

/**
 * An attempt that a later one replaced, read from the run's event log (the run's row shows
 * only the latest attempt). Attempts follow one another (a re-run starts only once the last
 * attempt ended) and each ends with exactly one `run.finished`, so attempt N is what the log
 * says after the (N-1)th `run.finished`, up to and including the Nth.
 */
export async function earlierAttempt(
  db: Kysely<Database>,
  runId: string,
  attempt: number,
): Promise<AttemptRecord> {
  const events = await db
    .selectFrom("events")
    .select(["type", "at", "data"])
    .where("run_id", "=", runId)
    .where("type", "in", ["run.started", "run.finished"])
    .orderBy("id")
    .execute();
  let ended = 0;
  let startedAt: number | null = null;
  for (const event of events) {
    if (ended !== attempt - 1) {
      if (event.type === "run.finished") ended++;
      continue;
    }
    // A resumed attempt starts again; it keeps the time it first started.
    if (event.type === "run.started") startedAt ??= Number(event.at);
    else {
      const { status } = JSON.parse(event.data) as { status: string };
      return { status, startedAt, finishedAt: Number(event.at) };
    }
  }
  return { status: "unknown", startedAt, finishedAt: null };
}

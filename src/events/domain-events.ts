import type { Kysely } from "kysely";
import type { Database } from "../store/database.js";
import { appendEvents } from "../store/event-log.js";

// What people and processes did to runs, as typed, versioned events with who did it: the
// audit trail that gates, metrics and alerts read. (What happens inside a run, its jobs and
// steps, is the engine's `RunEvent`.)

/** The version of {@link DomainEvent}'s shapes; a reader meeting a newer one skips it. */
export const DOMAIN_EVENT_VERSION = 1;

/** Who did something. */
export type Actor =
  /** Someone with an API token: its name. */
  | { readonly kind: "user"; readonly name: string }
  /** A job, with its `GITHUB_TOKEN`. */
  | { readonly kind: "job"; readonly run: string; readonly name: string }
  /** Trunkline itself: a server process (`server`), for a reason of its own. */
  | { readonly kind: "system"; readonly server?: string };

/** An event of the audit trail: what happened to which run, who did it and when. */
export type DomainEvent =
  | {
      readonly type: "run.cancel_requested";
      readonly runId: string;
      readonly actor: Actor;
      readonly at: number;
    }
  | {
      readonly type: "run.rerun";
      readonly runId: string;
      /** The attempt the re-run started. */
      readonly attempt: number;
      readonly failedOnly: boolean;
      readonly actor: Actor;
      readonly at: number;
    }
  | {
      readonly type: "run.taken_over";
      readonly runId: string;
      /** The server process that had it, gone. */
      readonly from: string;
      readonly actor: Actor;
      readonly at: number;
    }
  | {
      readonly type: "approval.given" | "approval.rejected";
      readonly runId: string;
      readonly attempt: number;
      readonly environment: string;
      readonly comment: string;
      readonly actor: Actor;
      readonly at: number;
    };

/** The actor of an API caller: a user, or a job for a job's token (`job:<run id>`). */
export function actorOfCaller(caller: { readonly id: string; readonly name: string }): Actor {
  return caller.id.startsWith("job:")
    ? { kind: "job", run: caller.id.slice("job:".length), name: caller.name }
    : { kind: "user", name: caller.name };
}

/** Appends domain events to the run's event log, with their version, all or none. */
export async function recordDomainEvents(
  db: Kysely<Database>,
  events: readonly DomainEvent[],
): Promise<void> {
  await appendEvents(
    db,
    events.map((event) => ({
      runId: event.runId,
      type: event.type,
      at: event.at,
      data: { ...event, version: DOMAIN_EVENT_VERSION },
    })),
  );
}

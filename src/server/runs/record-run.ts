import { randomUUID } from "node:crypto";
import type { Store } from "../../store/open-store.js";
import type { TriggerEvent } from "../../triggers/event.js";
import type { Workflow } from "../../workflow/model.js";
import type { RunRepository } from "./run-service.js";

/**
 * Records a run of `workflow` (queued, owned by the server process `owner`), or, with
 * `invalid`, a run of a workflow file that does not parse: failed at once, its problems kept
 * as its `workflow.invalid` event. The one writer of new runs.
 */
export async function recordRun(
  store: Store,
  owner: string,
  repo: RunRepository,
  workflow: Pick<Workflow, "file" | "name">,
  event: TriggerEvent,
  invalid?: readonly string[],
): Promise<{ id: string; number: number }> {
  const { db, dialect } = store;
  const id = randomUUID();
  const now = Date.now();
  // Numbers are per repository, taken one creator at a time: Postgres holds the repository
  // row's lock until the run is in; SQLite has a single writer. (A retry on the unique key
  // instead runs out of tries when many pushes land at once.)
  return db.transaction().execute(async (trx) => {
    if (dialect === "postgres")
      await trx
        .selectFrom("repositories")
        .select("id")
        .where("id", "=", repo.id)
        .forUpdate()
        .execute();
    const last = await trx
      .selectFrom("runs")
      .select((eb) => eb.fn.max("number").as("n"))
      .where("repository_id", "=", repo.id)
      .executeTakeFirst();
    const number = Number(last?.n ?? 0) + 1;
    await trx
      .insertInto("runs")
      .values({
        id,
        repository_id: repo.id,
        number,
        attempt: 1,
        workflow_file: workflow.file,
        workflow_name: workflow.name,
        event: event.name,
        ref: event.ref,
        sha: event.sha,
        status: invalid ? "failure" : "queued",
        created_at: now,
        started_at: invalid ? now : null,
        finished_at: invalid ? now : null,
        payload: JSON.stringify(event.payload ?? {}),
        trigger: JSON.stringify(event),
        owner: invalid ? null : owner,
      })
      .execute();
    if (invalid)
      await trx
        .insertInto("events")
        .values({
          run_id: id,
          type: "workflow.invalid",
          at: now,
          data: JSON.stringify({
            type: "workflow.invalid",
            file: workflow.file,
            problems: invalid,
          }),
        })
        .execute();
    return { id, number };
  });
}

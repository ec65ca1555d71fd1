import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  describeOnEachDatabase,
  postgresAvailable,
  postgresDatabase,
  type TestDatabase,
} from "../../../test/helpers/databases.js";
import { type PostgresCut, startPostgresCut } from "../../../test/helpers/postgres-cut.js";
import { seedRun } from "../../../test/helpers/seed.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { RunRecorder, readLog } from "../../store/run-recorder.js";
import { JobDispatch } from "./job-dispatch.js";

// A batch whose events reached the store but whose acknowledgement did not (the store
// refused the write that records the batch as applied: a connection cut, a database going
// down right then). The agent sends the batch again; its lines must be in the log once.

const postgres = await postgresAvailable();
const box = new SecretBox(randomBytes(32));
const runner = { id: "r1", labels: ["linux"] };

function spec(key: string): JobSpec {
  return {
    runId: "run",
    jobId: key,
    key: `ci.yml / ${key}`,
    name: key,
    workflow: { name: "CI", file: "ci.yml" },
    runsOn: ["linux"],
    contexts: {
      github: {},
      inputs: {},
      vars: {},
      secrets: {},
      matrix: {},
      strategy: {},
      needs: {},
    },
    env: {},
    defaults: {},
    steps: [],
    timeoutMinutes: 5,
    continueOnError: false,
    masks: [],
  };
}

/**
 * Makes the store refuse, until the returned function is called, every write that records
 * a queue entry's applied batch: a trigger on the real table, so the refusal comes from the
 * database at exactly that statement.
 */
async function refuseAppliedRecords(store: Store): Promise<() => Promise<void>> {
  if (store.dialect === "sqlite") {
    await sql`CREATE TRIGGER refuse_applied BEFORE UPDATE OF applied_seq ON queue
      BEGIN SELECT RAISE(ABORT, 'the store is away'); END`.execute(store.db);
    return async () => void (await sql`DROP TRIGGER refuse_applied`.execute(store.db));
  }
  await sql`CREATE FUNCTION refuse_applied() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'the store is away'; END $$`.execute(store.db);
  await sql`CREATE TRIGGER refuse_applied BEFORE UPDATE OF applied_seq ON queue
    FOR EACH ROW EXECUTE FUNCTION refuse_applied()`.execute(store.db);
  return async () => {
    await sql`DROP TRIGGER refuse_applied ON queue`.execute(store.db);
    await sql`DROP FUNCTION refuse_applied()`.execute(store.db);
  };
}

/**
 * Runs a job whose batch 2 is answered with an error once (`loseNext` arranges it, and
 * resolves to what undoes it), as an agent sees it: it sends the batch again. Resolves to
 * the job's stored log and its recorded `applied_seq`.
 */
async function sendAgainAfterLostAnswer(
  store: Store,
  run: string,
  loseNext: () => Promise<() => Promise<void>>,
): Promise<{ lines: string[]; applied: number }> {
  const dispatch = new JobDispatch({ store, box, leaseMs: 60_000 });
  await dispatch.start();
  try {
    await seedRun(store.db, { run });
    const recorder = new RunRecorder(store.db, run);
    const job = spec("build");
    const result = dispatch.execute(
      {
        runId: run,
        attempt: 1,
        source: { repository: "/nowhere.git", sha: "c".repeat(40) },
        sink: (e) => recorder.handle(e),
        settle: () => recorder.flush(),
      },
      job,
      new AbortController().signal,
    );
    const lease = await dispatch.claim(runner, 10_000);
    const entry = { entryId: lease?.entryId ?? "", runnerId: runner.id, token: 1 };
    const log = (text: string) =>
      ({ type: "log", job: job.key, stream: "stdout", text, at: 1 }) as const;
    expect(await dispatch.send(entry, 1, [log("tick 1")])).toBe("ok");

    const restore = await loseNext();
    let refused: unknown;
    try {
      refused = await dispatch.send(entry, 2, [log("tick 2")]).catch((err: unknown) => err);
    } finally {
      await restore();
    }
    // The agent was told the batch did not go through, so it sends it again.
    expect(refused).toBeInstanceOf(Error);
    expect(await dispatch.send(entry, 2, [log("tick 2")])).toBe("ok");
    expect(await dispatch.send(entry, 3, [log("tick 3")])).toBe("ok");
    expect(await dispatch.complete(entry, { status: "success", outputs: {} }, { sent: 3 })).toBe(
      true,
    );
    expect((await result).status).toBe("success");
    await recorder.flush();
    const { lines } = await readLog(store.db, recorder.jobId(job.key) ?? "", 0, 1000);
    const row = await store.db
      .selectFrom("queue")
      .select("applied_seq")
      .where("id", "=", entry.entryId)
      .executeTakeFirstOrThrow();
    return { lines, applied: Number(row.applied_seq) };
  } finally {
    await dispatch.stop();
  }
}

describeOnEachDatabase("a batch whose acknowledgement was lost", postgres, (context) => {
  test.runIf(context.available)(
    "the record of it refused: it is applied once when the agent sends it again",
    async () => {
      const outcome = await sendAgainAfterLostAnswer(context.store, "run-refused", () =>
        refuseAppliedRecords(context.store),
      );
      expect(outcome).toEqual({ lines: ["tick 1", "tick 2", "tick 3"], applied: 3 });
    },
  );
});

describe("a batch whose acknowledgement was lost (postgres, connection cut)", () => {
  let database: TestDatabase | undefined;
  let cut: PostgresCut;
  let store: Store;
  beforeAll(async () => {
    if (!postgres) return;
    database = await postgresDatabase();
    cut = await startPostgresCut(database.options.url ?? "");
    store = await openStore({ url: cut.url });
  });
  afterAll(async () => {
    if (!database) return;
    await store.close();
    await cut.close();
    await database.drop();
  });

  test.runIf(postgres)(
    "its record committed, the answer cut: it is applied once when the agent sends it again",
    async () => {
      let cuts = 0;
      const outcome = await sendAgainAfterLostAnswer(store, "run-cut", async () => {
        cut.cutAfterCommit('set "applied_seq"', () => cuts++);
        return async () => undefined;
      });
      expect(cuts).toBe(1);
      expect(outcome).toEqual({ lines: ["tick 1", "tick 2", "tick 3"], applied: 3 });
    },
  );
});

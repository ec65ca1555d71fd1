import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  postgresAvailable,
  postgresDatabase,
  type TestDatabase,
} from "../../test/helpers/databases.js";
import { type PostgresCut, startPostgresCut } from "../../test/helpers/postgres-cut.js";
import { seedRun } from "../../test/helpers/seed.js";
import { openStore, type Store } from "./open-store.js";
import { RunRecorder, readLog } from "./run-recorder.js";

// A log chunk stored by Postgres whose answer never came back (the connection was cut right
// after the commit, as when Postgres goes down): the recorder writes it again, and new lines
// that came meanwhile are neither lost nor doubled. Only Postgres has a connection to cut;
// SQLite answers in-process.

const postgres = await postgresAvailable();

describe("a Postgres connection cut after a commit", () => {
  let database: TestDatabase | undefined;
  let cut: PostgresCut;
  let store: Store;

  beforeAll(async () => {
    if (!postgres) return;
    database = await postgresDatabase();
    cut = await startPostgresCut(database.options.url ?? "");
    store = await openStore({ url: cut.url });
    await seedRun(store.db, { run: "run-cut" });
  });
  afterAll(async () => {
    if (!database) return;
    await store.close();
    await cut.close();
    await database.drop();
  });

  test.runIf(postgres)("fails that statement only: the process and the store go on", async () => {
    // An answer lost mid-query must not end the process (an 'error' event nobody handles).
    let cuts = 0;
    cut.cutAfterCommit("select 'cut me'", () => cuts++);
    await expect(sql`select 'cut me'`.execute(store.db)).rejects.toThrow(
      /Connection terminated unexpectedly/,
    );
    expect(cuts).toBe(1);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  test.runIf(postgres)(
    "of a log chunk: it is written once, and the lines that came meanwhile follow it",
    async () => {
      const recorder = new RunRecorder(store.db, "run-cut");
      const log = (text: string) =>
        ({ type: "log", job: "ci.yml / build", stream: "stdout", text, at: 1 }) as const;
      for (const text of ["one", "two", "three"]) recorder.handle(log(text));
      let cuts = 0;
      cut.cutAfterCommit('insert into "log_chunks"', () => {
        cuts++;
        // A line arrives while the recorder does not know yet that its chunk was stored.
        recorder.handle(log("four"));
      });
      await recorder.flush();
      recorder.handle(log("five"));
      await recorder.flush();

      expect(cuts).toBe(1);
      const lines = (await readLog(store.db, recorder.jobId("ci.yml / build") ?? "", 0, 1000))
        .lines;
      expect(lines).toEqual(["one", "two", "three", "four", "five"]);
    },
  );
});

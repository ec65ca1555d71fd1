import { expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { appendEvents } from "../../store/event-log.js";
import { earlierAttempt, noSuchAttempt } from "./run-attempts.js";

const postgres = await postgresAvailable();

describeOnEachDatabase("an earlier attempt, from the event log", postgres, (db) => {
  test.runIf(db.available)(
    "each attempt is what lies between two run.finished; a resumed one keeps its first start",
    async () => {
      const ev = (type: string, at: number, status?: string) => ({
        runId: "run1",
        type,
        at,
        data: status ? { type, status } : { type },
      });
      await appendEvents(db.store.db, [
        ev("run.started", 10),
        ev("job.started", 11),
        ev("run.started", 15), // a restarted server carries attempt 1 on
        ev("run.finished", 20, "failure"),
        ev("run.started", 30),
        { ...ev("run.finished", 35, "cancelled"), runId: "other" },
        ev("run.finished", 40, "success"),
        ev("run.started", 50),
      ]);
      expect(await earlierAttempt(db.store.db, "run1", 1)).toEqual({
        status: "failure",
        startedAt: 10,
        finishedAt: 20,
      });
      expect(await earlierAttempt(db.store.db, "run1", 2)).toEqual({
        status: "success",
        startedAt: 30,
        finishedAt: 40,
      });
      // No end in the log: said so, not guessed.
      expect(await earlierAttempt(db.store.db, "run1", 3)).toEqual({
        status: "unknown",
        startedAt: 50,
        finishedAt: null,
      });
    },
  );
});

test("an attempt a run does not have names those it has", () => {
  expect(noSuchAttempt("run #4 in app", 3, 1).message).toBe(
    "run #4 in app has no attempt 3; it has attempt 1 only",
  );
  expect(noSuchAttempt("run #4 in app", 9, 2).message).toBe(
    "run #4 in app has no attempt 9; it has attempts 1 to 2",
  );
});

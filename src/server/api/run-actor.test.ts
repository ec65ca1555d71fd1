import { expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { seedRun } from "../../../test/helpers/seed.js";
import { actorOf } from "./run-control-routes.js";

// Who a dispatched run is of: the token's owner, or, for a job's GITHUB_TOKEN, whoever
// triggered that job's run, so a workflow that dispatches another cannot launder its
// trigger past allow-self-review: false.

const postgres = await postgresAvailable();

describeOnEachDatabase("the actor of a dispatch", postgres, (db) => {
  test.skipIf(!db.available)("a token's name; a job token's run's trigger", async () => {
    await seedRun(db.store.db, { run: "parent" }, { number: 41 });
    await db.store.db
      .updateTable("runs")
      .set({ trigger: JSON.stringify({ name: "push", actor: "alice" }) })
      .where("id", "=", "parent")
      .execute();
    await seedRun(db.store.db, { run: "nobody" }, { number: 42 });
    expect(await actorOf(db.store.db, { id: "t1", name: "bob" })).toBe("bob");
    expect(await actorOf(db.store.db, { id: "job:parent", name: "GITHUB_TOKEN of deploy" })).toBe(
      "alice",
    );
    // A run of no one's (a schedule's): the token's own name stands.
    expect(await actorOf(db.store.db, { id: "job:nobody", name: "GITHUB_TOKEN of deploy" })).toBe(
      "GITHUB_TOKEN of deploy",
    );
  });
});

import { spawnSync } from "node:child_process";
import { beforeAll, expect, test, vi } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { seedRun } from "../../../test/helpers/seed.js";
import { readEvents } from "../../store/event-log.js";
import { ServerPresence, thisMachine } from "./server-presence.js";

const postgres = await postgresAvailable();

/** A process id that no process has now: one of a child that has exited. */
function deadPid(): number {
  return spawnSync("true").pid as number;
}

describeOnEachDatabase("server presence", postgres, (context) => {
  let clock = Date.now();
  const heard = { cancels: [] as string[], gone: [] as string[], orphans: 0 };
  const presence = () =>
    new ServerPresence({
      store: context.store,
      now: () => clock,
      handlers: {
        onCancel: (runId) => heard.cancels.push(runId),
        onOrphans: () => {
          heard.orphans++;
        },
        onGone: async (id) => {
          heard.gone.push(id);
        },
      },
    });
  let mine: ServerPresence;
  let other: ServerPresence;

  beforeAll(async () => {
    if (!context.available) return;
    mine = presence();
    other = presence();
    await mine.start();
    await other.start();
  });

  const owner = async (runId: string) =>
    (
      await context.store.db
        .selectFrom("runs")
        .select("owner")
        .where("id", "=", runId)
        .executeTakeFirstOrThrow()
    ).owner;

  test.runIf(context.available)(
    "a run has one owner; a cancel asked elsewhere reaches it; a finished run is let go",
    async () => {
      await seedRun(context.store.db, { run: "run-a" });
      expect(await mine.own("run-a")).toBe(true);
      expect(await mine.own("run-a")).toBe(true); // its own already
      expect(await other.own("run-a")).toBe(false);
      expect(await owner("run-a")).toBe(mine.id);

      expect(await other.requestCancel("run-a")).toBe(true);
      await mine.sweep();
      expect(heard.cancels).toContain("run-a");

      await mine.release("run-a");
      expect(await owner("run-a")).toBeNull();
      expect(await other.requestCancel("run-a")).toBe(false); // nobody runs it now
      await context.store.db
        .updateTable("runs")
        .set({ status: "success" })
        .where("id", "=", "run-a")
        .execute();
      expect(await other.own("run-a")).toBe(true);
      expect(await other.requestCancel("run-a")).toBe(false); // finished
    },
  );

  test.runIf(context.available)(
    "a process gone from this machine (its process id is dead, or it is an earlier life of this process id) is forgotten and its runs taken over",
    async () => {
      const ago = clock - 60_000;
      await context.store.db
        .insertInto("servers")
        .values([
          { id: "dead", host: thisMachine(), pid: deadPid(), started_at: ago, seen_at: clock },
          { id: "earlier", host: thisMachine(), pid: process.pid, started_at: 1, seen_at: clock },
          { id: "elsewhere", host: "another-host", pid: 1, started_at: ago, seen_at: clock },
        ])
        .execute();
      await seedRun(context.store.db, { run: "run-b" }, { number: 2 });
      await seedRun(context.store.db, { run: "run-c" }, { number: 3 });
      await seedRun(context.store.db, { run: "run-d" }, { number: 4 });
      for (const [run, server] of [
        ["run-b", "dead"],
        ["run-c", "earlier"],
        ["run-d", "elsewhere"],
      ] as const)
        await context.store.db
          .updateTable("runs")
          .set({ owner: server })
          .where("id", "=", run)
          .execute();
      heard.gone.length = 0;
      expect(await mine.sweep()).toBe(2);
      expect(heard.gone.sort()).toEqual(["dead", "earlier"]);
      // Taken by the process that found them, for it to carry on.
      expect(await owner("run-b")).toBe(mine.id);
      expect(await owner("run-c")).toBe(mine.id);
      expect(await owner("run-d")).toBe("elsewhere"); // another machine's: alive for now
      // Each taking is in the run's log: from whom, by which process.
      const taken = await readEvents(context.store.db, { runId: "run-b" });
      expect(taken.map((e) => e.data)).toEqual([
        {
          type: "run.taken_over",
          version: 1,
          runId: "run-b",
          from: "dead",
          actor: { kind: "system", server: mine.id },
          at: clock,
        },
      ]);
    },
  );

  test.runIf(context.available)(
    "another machine's process counts as gone once its row is stale, but only to a process that has been beating itself for that long",
    async () => {
      heard.gone.length = 0;
      clock += 31_000; // nobody beat meanwhile: every row is stale, this one's too
      const fresh = presence();
      await fresh.start();
      expect(await fresh.sweep()).toBe(0); // it has not been beating for 30 s itself
      expect(heard.gone).toEqual([]);
      // The long-running processes have (their first beat was at start).
      await context.store.db
        .updateTable("servers")
        .set({ seen_at: clock })
        .where("id", "in", [mine.id, other.id, fresh.id])
        .execute();
      expect(await mine.sweep()).toBe(1);
      expect(heard.gone).toEqual(["elsewhere"]);
      expect(await owner("run-d")).toBe(mine.id);
      await fresh.stop();
      const rows = await context.store.db.selectFrom("servers").select("id").execute();
      expect(rows.map((r) => r.id).sort()).toEqual([mine.id, other.id].sort());
    },
  );

  test.runIf(context.available)(
    "a process whose row another one removed (it counted it as gone) is told to stop, and does not come back",
    async () => {
      let fenced = 0;
      const cut = new ServerPresence({
        store: context.store,
        beatMs: 20,
        handlers: {
          onCancel: () => undefined,
          onOrphans: () => undefined,
          onGone: async () => undefined,
          onFenced: () => {
            fenced++;
          },
        },
      });
      await cut.start();
      await context.store.db.deleteFrom("servers").where("id", "=", cut.id).execute();
      await vi.waitFor(() => expect(fenced).toBe(1));
      await new Promise((r) => setTimeout(r, 100));
      expect(fenced).toBe(1);
      const row = await context.store.db
        .selectFrom("servers")
        .select("id")
        .where("id", "=", cut.id)
        .executeTakeFirst();
      expect(row).toBeUndefined();
      await cut.stop();
    },
  );
});

import { beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../test/helpers/databases.js";
import { seedRun } from "../../test/helpers/seed.js";
import { JobQueue, type Lease, normalise } from "./job-queue.js";

const postgres = await postgresAvailable();

describeOnEachDatabase("the job queue", postgres, (context) => {
  let clock = 1_000;
  let queue: JobQueue;
  let other: JobQueue;
  const linux = { id: "r-linux", labels: ["linux", "x64", "ubuntu-latest"] };
  const gpu = { id: "r-gpu", labels: ["Linux", "GPU"] };

  beforeAll(async () => {
    if (!context.available) return;
    queue = new JobQueue(context.store.db, context.dialect, () => clock);
    // A second queue on the same database: another server process.
    other = new JobQueue(context.store.db, context.dialect, () => clock);
    await seedRun(context.store.db, { run: "run-1" });
  });

  const enqueue = (jobKey: string, labels: string[]) =>
    queue.enqueue({ runId: "run-1", jobKey, attempt: 1, labels, spec: `sealed:${jobKey}` });

  test.runIf(context.available)(
    "a runner gets the oldest job whose labels it has all of",
    async () => {
      await enqueue("needs-gpu", ["linux", "gpu"]);
      clock++;
      await enqueue("build", ["ubuntu-latest"]);
      clock++;
      await enqueue("test", ["UBUNTU-LATEST", "x64"]);
      const first = await queue.claim(linux, 30_000);
      expect([first?.jobKey, first?.token, first?.spec]).toEqual(["build", 1, "sealed:build"]);
      const second = await other.claim(linux, 30_000);
      expect(second?.jobKey).toBe("test");
      expect(await queue.claim(linux, 30_000)).toBeUndefined();
      const third = await queue.claim(gpu, 30_000);
      expect(third?.jobKey).toBe("needs-gpu");
      for (const lease of [first, second, third])
        expect(
          await queue.complete(lease as Lease, {
            status: "success",
            outputs: {},
          }),
        ).toBe(true);
    },
  );

  test.runIf(context.available)(
    "a lease is held, as any process sees it, until its job ends or is taken again",
    async () => {
      const id = await enqueue("leased-check", ["linux"]);
      expect(await other.leased(`${id}:1`)).toBe(false);
      const lease = (await queue.claim(linux, 30_000)) as Lease;
      expect(lease.entryId).toBe(id);
      expect(await other.leased(`${id}:${lease.token}`)).toBe(true);
      expect(await other.leased(`${id}:${lease.token + 1}`)).toBe(false);
      await queue.complete(lease, { status: "success", outputs: {} });
      expect(await other.leased(`${id}:${lease.token}`)).toBe(false);
    },
  );

  test.runIf(context.available)("many claims at once hand each job out exactly once", async () => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await enqueue(`job-${i}`, ["linux"]));
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? queue : other).claim({ id: `r${i}`, labels: ["linux"] }, 30_000),
      ),
    );
    const taken = claims.filter((c) => c !== undefined).map((c) => c?.entryId);
    expect(taken.sort()).toEqual([...ids].sort());
    for (const c of claims) if (c) await queue.complete(c, { status: "success", outputs: {} });
  });

  test.runIf(context.available)(
    "an expired lease is lost: its runner's renewals and writes are refused with its stale token",
    async () => {
      const id = await enqueue("deploy", ["linux"]);
      const lease = await queue.claim(linux, 1_000);
      expect(lease?.entryId).toBe(id);
      const held = { entryId: id, runnerId: linux.id, token: 1 };
      expect(await queue.holds(held)).toBe(true);
      clock += 500;
      expect(await queue.renew(held, 1_000)).toEqual({ held: true, cancel: false });
      clock += 999;
      expect(await queue.expire()).toEqual([]);
      clock += 2;
      expect(await queue.expire()).toEqual([{ entryId: id, runId: "run-1", jobKey: "deploy" }]);
      expect(await queue.holds(held)).toBe(false);
      expect(await queue.renew(held, 1_000)).toEqual({ held: false, cancel: false });
      expect(await queue.complete(held, { status: "success", outputs: {} })).toBe(false);
      expect(await queue.entry(id)).toEqual({
        jobKey: "deploy",
        state: "lost",
        runnerId: "r-linux",
        token: 1,
        leasedAt: (lease?.expiresAt ?? 0) - 1_000,
        result: { status: "failure", outputs: {}, reason: "runner_lost" },
      });
    },
  );

  test.runIf(context.available)(
    "batches kept for another process come back in order, once each; a cancel is heard by the renewal; ended entries are told apart",
    async () => {
      const id = await enqueue("relay", ["linux"]);
      await queue.claim(linux, 60_000);
      const held = { entryId: id, runnerId: linux.id, token: 1 };
      await queue.keepBatch(id, 2, '["b"]');
      await queue.keepBatch(id, 1, '["a"]');
      await queue.keepBatch(id, 1, '["a again"]'); // a retry keeps the first
      await queue.keepBatch(id, 3, '["c"]');
      expect(await queue.batches(id, 0)).toEqual([
        { seq: 1, events: '["a"]' },
        { seq: 2, events: '["b"]' },
        { seq: 3, events: '["c"]' },
      ]);
      await queue.dropBatches(id, 2);
      expect(await queue.batches(id, 0)).toEqual([{ seq: 3, events: '["c"]' }]);
      expect(await queue.batches(id, 3)).toEqual([]);
      await queue.keepBatch(id, 4, '["d"]');
      await queue.dropBatches(id); // all of them
      expect(await queue.batches(id, 0)).toEqual([]);
      expect(await queue.renew(held, 60_000)).toEqual({ held: true, cancel: false });
      await queue.requestCancel(id);
      expect(await queue.renew(held, 60_000)).toEqual({ held: true, cancel: true });
      const other = await enqueue("other", ["linux"]);
      expect(await queue.ended([id, other])).toEqual([]);
      await queue.complete(held, { status: "cancelled", outputs: {} });
      expect(await queue.ended([id, other])).toEqual([id]);
      expect(await queue.ended([])).toEqual([]);
      expect(await queue.withdraw(other)).toBe(true);
    },
  );

  test.runIf(context.available)(
    "a lease is bound to the runner that claimed it: another runner with its token can neither hold, renew nor complete it",
    async () => {
      const id = await enqueue("bound", ["bound"]);
      const owner = { id: "r-owner", labels: ["bound"] };
      const lease = (await queue.claim(owner, 60_000)) as Lease;
      expect(lease.runnerId).toBe("r-owner");
      const thief = { entryId: id, runnerId: "r-thief", token: lease.token };
      expect(await queue.holds(thief)).toBe(false);
      expect(await queue.renew(thief, 60_000)).toEqual({ held: false, cancel: false });
      expect(await queue.complete(thief, { status: "success", outputs: {} })).toBe(false);
      expect(await queue.holds(lease)).toBe(true);
      // The runner is removed: the leases it held end as lost.
      expect(await queue.loseRunner("r-owner", "runner_lost")).toEqual([id]);
      expect((await queue.entry(id))?.result).toEqual({
        status: "failure",
        outputs: {},
        reason: "runner_lost",
      });
    },
  );

  test.runIf(context.available)(
    "a registered runner takes a job only while it is in the runners table",
    async () => {
      const id = await enqueue("for-agents", ["agents-only"]);
      const agent = { id: "agent-1", labels: ["agents-only"], registered: true };
      expect(await queue.claim(agent, 60_000)).toBeUndefined();
      await context.store.db
        .insertInto("runners")
        .values({
          id: "agent-1",
          name: "agent",
          labels: JSON.stringify(["agents-only"]),
          capacity: 1,
          token_hash: "not-a-real-hash",
          created_at: clock,
          last_seen_at: clock,
        })
        .execute();
      expect((await queue.claim(agent, 60_000))?.entryId).toBe(id);
    },
  );

  test.runIf(context.available)("a queued job can be withdrawn; a leased one cannot", async () => {
    const waiting = await enqueue("waiting", ["nobody-has-this"]);
    expect(await queue.withdraw(waiting)).toBe(true);
    expect((await queue.entry(waiting))?.result?.status).toBe("cancelled");
    const taken = await enqueue("taken", ["linux"]);
    const lease = await queue.claim(linux, 30_000);
    expect(lease?.entryId).toBe(taken);
    expect(await queue.withdraw(taken)).toBe(false);
    const held = { entryId: taken, runnerId: linux.id, token: 1 };
    expect(await queue.complete(held, { status: "success", outputs: { a: "1" } })).toBe(true);
    expect(await queue.complete(held, { status: "failure", outputs: {} })).toBe(false);
    expect((await queue.entry(taken))?.result).toEqual({ status: "success", outputs: { a: "1" } });
  });
});

test("labels compare lower-cased, once each", () => {
  expect(normalise(["Linux", "x64", "linux", " GPU "])).toEqual(["gpu", "linux", "x64"]);
});

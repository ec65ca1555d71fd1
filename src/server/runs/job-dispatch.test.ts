import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import {
  describeOnEachDatabase,
  postgresAvailable,
  testOn,
} from "../../../test/helpers/databases.js";
import { seedRun } from "../../../test/helpers/seed.js";
import { describeDuration } from "../../common/duration.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import type { RunEvent } from "../../engine/run-events.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { JobDispatch } from "./job-dispatch.js";

const postgres = await postgresAvailable();
const box = new SecretBox(randomBytes(32));
const runner = { id: "r1", labels: ["linux"] };
/** A lease of `runner`'s, as it names it in its writes. */
const held = (entryId: string, token = 1) => ({ entryId, runnerId: runner.id, token });

function spec(key: string, runsOn = ["linux"]): JobSpec {
  return {
    runId: "run-1",
    jobId: key,
    key: `ci.yml / ${key}`,
    name: key,
    workflow: { name: "CI", file: "ci.yml" },
    runsOn,
    contexts: {
      github: {},
      inputs: {},
      vars: {},
      secrets: { TOKEN: "s3cret" },
      matrix: {},
      strategy: {},
      needs: {},
    },
    env: {},
    defaults: {},
    steps: [],
    timeoutMinutes: 5,
    continueOnError: false,
    masks: ["s3cret"],
  };
}

describeOnEachDatabase("the job dispatch", postgres, (context) => {
  let dispatch: JobDispatch;
  let other: JobDispatch;

  beforeAll(async () => {
    if (!context.available) return;
    await seedRun(context.store.db, { run: "run-1" });
    dispatch = new JobDispatch({ store: context.store, box, leaseMs: 60_000 });
    other = new JobDispatch({ store: context.store, box, leaseMs: 60_000 });
    await dispatch.start();
    await other.start();
  });
  afterAll(async () => {
    if (!context.available) return;
    await dispatch.stop();
    await other.stop();
  });

  const source = { repository: "/nowhere.git", sha: "c".repeat(40) };

  test.runIf(context.available)(
    "a job goes to a runner, its batches are applied once and only under its token",
    async () => {
      const events: RunEvent[] = [];
      const result = dispatch.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: (e) => events.push(e),
          settle: async () => undefined,
        },
        spec("build"),
        new AbortController().signal,
      );
      const lease = await dispatch.claim(runner, 10_000);
      expect(lease?.spec.contexts.secrets).toEqual({ TOKEN: "s3cret" });
      expect(lease?.source).toEqual(source);
      const entry = lease?.entryId ?? "";
      const log = (text: string) =>
        ({ type: "log", job: "ci.yml / build", stream: "stdout", text, at: 1 }) as const;
      expect(await dispatch.send(held(entry), 1, [log("one")])).toBe("ok");
      expect(await dispatch.send(held(entry), 1, [log("one")])).toBe("ok"); // a retry
      expect(await dispatch.send(held(entry), 2, [log("two")])).toBe("ok");
      expect(await dispatch.send(held(entry, 2), 3, [log("forged")])).toBe("stale");
      expect(await dispatch.complete(held(entry), { status: "success", outputs: { a: "1" } })).toBe(
        true,
      );
      expect(await result).toEqual({ status: "success", outputs: { a: "1" } });
      expect(events.map((e) => e.type)).toEqual(["job.waiting", "job.started", "log", "log"]);
      expect(
        events.filter((e) => e.type === "log").map((e) => (e as { text: string }).text),
      ).toEqual(["one", "two"]);
      expect(await dispatch.send(held(entry), 4, [log("late")])).toBe("stale");
    },
  );

  test.runIf(context.available)(
    "a batch outside the closed schema is refused whole, also by a process that would only keep it for the run's own",
    async () => {
      const events: RunEvent[] = [];
      const result = dispatch.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: (e) => events.push(e),
          settle: async () => undefined,
        },
        spec("audit"),
        new AbortController().signal,
      );
      const lease = await dispatch.claim(runner, 10_000);
      const entry = lease?.entryId ?? "";
      const log = (job: string, text: string) =>
        ({ type: "log", job, stream: "stdout", text, at: 1 }) as const;
      const forged = [log("ci.yml / audit", "fine"), log("ci.yml / deploy", "not mine")];
      // `other` does not run the job: it would keep the batch in the store for `dispatch`.
      for (const by of [dispatch, other])
        await expect(by.send(held(entry), 1, forged)).rejects.toMatchObject({
          code: "forbidden",
          message: "events[1].job: this lease is for job 'ci.yml / audit', not 'ci.yml / deploy'",
        });
      expect(
        await context.store.db
          .selectFrom("queue_batches")
          .selectAll()
          .where("entry_id", "=", entry)
          .execute(),
      ).toEqual([]);
      // Another runner, with the right token.
      await expect(
        other.heartbeat({ entryId: entry, runnerId: "r2", token: 1 }),
      ).rejects.toMatchObject({ code: "forbidden" });
      expect(await dispatch.send(held(entry), 1, [log("ci.yml / audit", "mine")])).toBe("ok");
      expect(
        await dispatch.complete(held(entry), { status: "success", outputs: {} }, { sent: 1 }),
      ).toBe(true);
      expect((await result).status).toBe("success");
      expect(
        events.filter((e) => e.type === "log").map((e) => (e as { text: string }).text),
      ).toEqual(["mine"]);
    },
  );

  test.runIf(context.available)("a cancel reaches the runner through its heartbeat", async () => {
    const cancel = new AbortController();
    const result = dispatch.execute(
      { runId: "run-1", attempt: 1, source, sink: () => undefined, settle: async () => undefined },
      spec("deploy"),
      cancel.signal,
    );
    const lease = await dispatch.claim(runner, 10_000);
    expect(await dispatch.heartbeat(held(lease?.entryId ?? "", lease?.token))).toEqual({
      held: true,
      cancel: false,
    });
    cancel.abort();
    await vi.waitFor(async () =>
      expect(await dispatch.heartbeat(held(lease?.entryId ?? "", lease?.token))).toEqual({
        held: true,
        cancel: true,
      }),
    );
    await dispatch.complete(held(lease?.entryId ?? "", lease?.token), {
      status: "cancelled",
      outputs: {},
    });
    expect((await result).status).toBe("cancelled");
  });

  testOn(context, "postgres")(
    "an agent served by another server process: its claim wakes there (LISTEN/NOTIFY), and its events and result reach the process running the job, in order and once",
    async () => {
      const waiting = other.claim(runner, 60_000);
      await vi.waitFor(() => expect(other.waitingClaims).toBe(1));
      const events: RunEvent[] = [];
      const result = dispatch.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: (e) => events.push(e),
          settle: async () => undefined,
        },
        spec("test"),
        new AbortController().signal,
      );
      const lease = await waiting;
      expect(lease?.spec.key).toBe("ci.yml / test");
      const entry = lease?.entryId ?? "";
      const log = (text: string) =>
        ({ type: "log", job: "ci.yml / test", stream: "stdout", text, at: 1 }) as const;
      expect(await other.send(held(entry), 1, [log("one")])).toBe("ok");
      expect(await other.send(held(entry), 1, [log("one")])).toBe("ok"); // a retry
      // Batch 3 comes to the job's own process before batch 2 reached it from the other.
      expect(await dispatch.send(held(entry), 3, [log("three")])).toBe("ok");
      expect(await other.send(held(entry), 2, [log("two")])).toBe("ok");
      expect(await other.send(held(entry, 2), 4, [log("forged")])).toBe("stale");
      // A cancel asked of the job's process reaches the agent's heartbeat on the other.
      expect(await other.heartbeat(held(entry))).toEqual({ held: true, cancel: false });
      expect(
        await other.complete(
          held(entry),
          { status: "success", outputs: { v: "1" } },
          { final: { seq: 4, events: [log("four")] }, sent: 4 },
        ),
      ).toBe(true);
      expect(await result).toEqual({ status: "success", outputs: { v: "1" } });
      expect(events.map((e) => e.type)).toEqual([
        "job.waiting",
        "job.started",
        "log",
        "log",
        "log",
        "log",
      ]);
      expect(
        events.filter((e) => e.type === "log").map((e) => (e as { text: string }).text),
      ).toEqual(["one", "two", "three", "four"]);
    },
    20_000,
  );

  test.runIf(context.available)(
    "a stopping dispatch ends the claims waiting on it at once, and hands out nothing until it starts again",
    async () => {
      const stopping = new JobDispatch({ store: context.store, box, leaseMs: 60_000 });
      await stopping.start();
      const waiting = stopping.claim(runner, 60_000);
      await vi.waitFor(() => expect(stopping.waitingClaims).toBe(1));
      await stopping.stop();
      expect(await waiting).toBeUndefined();
      expect(stopping.stopping).toBe(true);
      expect(await stopping.claim(runner, 60_000)).toBeUndefined();
      await stopping.start();
      expect(stopping.stopping).toBe(false);
      expect(await stopping.claim(runner, 0)).toBeUndefined(); // nothing queued, no wait
      await stopping.stop();
    },
  );

  testOn(context, "sqlite")(
    "a queued job wakes a waiting runner that can take it; one that takes an older job instead passes the wake on",
    async () => {
      const both = { id: "both", labels: ["gpu", "linux"] };
      const linux = { id: "linux-only", labels: ["linux"] };
      const first = dispatch.claim(both, 60_000);
      const second = dispatch.claim(linux, 60_000);
      await vi.waitFor(() => expect(dispatch.waitingClaims).toBe(2));
      const job = () => ({
        runId: "run-1",
        attempt: 1,
        source,
        sink: () => undefined,
        settle: async () => undefined,
      });
      // Queued by another process (no wake here), so it is the older job when the next comes.
      const older = other.execute(job(), spec("train", ["gpu"]), new AbortController().signal);
      await vi.waitFor(async () =>
        expect(
          await context.store.db
            .selectFrom("queue")
            .select("id")
            .where("job_key", "=", "ci.yml / train")
            .where("state", "=", "queued")
            .execute(),
        ).toHaveLength(1),
      );
      const newer = dispatch.execute(job(), spec("lint"), new AbortController().signal);
      // The first waiting runner fits the new job, is woken, takes the older one (it has
      // both labels), and passes the wake to the second, which takes the new one at once.
      const [a, b] = await Promise.all([first, second]);
      expect(a?.spec.key).toBe("ci.yml / train");
      expect(b?.spec.key).toBe("ci.yml / lint");
      for (const [lease, by] of [
        [a, both],
        [b, linux],
      ] as const)
        await dispatch.complete(
          { entryId: lease?.entryId ?? "", runnerId: by.id, token: 1 },
          {
            status: "success",
            outputs: {},
          },
        );
      expect((await newer).status).toBe("success");
      expect((await older).status).toBe("success");
    },
    20_000,
  );

  testOn(context, "postgres")(
    "a cancel asked of the job's process reaches an agent served by another",
    async () => {
      const waiting = other.claim(runner, 60_000);
      await vi.waitFor(() => expect(other.waitingClaims).toBe(1));
      const cancel = new AbortController();
      const result = dispatch.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: () => undefined,
          settle: async () => undefined,
        },
        spec("lint"),
        cancel.signal,
      );
      const lease = await waiting;
      const entry = lease?.entryId ?? "";
      cancel.abort();
      await vi.waitFor(async () =>
        expect(await other.heartbeat(held(entry))).toEqual({ held: true, cancel: true }),
      );
      await other.complete(held(entry), { status: "cancelled", outputs: {} }, { sent: 0 });
      expect((await result).status).toBe("cancelled");
    },
    20_000,
  );

  test.runIf(context.available)(
    "batches and the result a runner sent while no process ran the job are applied when one carries the run on",
    async () => {
      const first = new JobDispatch({ store: context.store, box, leaseMs: 60_000 });
      const gone = first.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: () => undefined,
          settle: async () => undefined,
        },
        spec("package"),
        new AbortController().signal,
      );
      void gone;
      const lease = await first.claim(runner, 10_000);
      const entry = lease?.entryId ?? "";
      const log = (text: string) =>
        ({ type: "log", job: "ci.yml / package", stream: "stdout", text, at: 1 }) as const;
      // The server stopped (its dispatch is forgotten); a new one answers the runner.
      const next = new JobDispatch({ store: context.store, box, leaseMs: 60_000 });
      expect(await next.send(held(entry), 1, [log("while away")])).toBe("ok");
      expect(
        await next.complete(
          held(entry),
          { status: "success", outputs: {} },
          {
            final: { seq: 2, events: [log("last")] },
            sent: 2,
          },
        ),
      ).toBe(true);
      const events: RunEvent[] = [];
      const result = await next.execute(
        {
          runId: "run-1",
          attempt: 1,
          resumed: true,
          source,
          sink: (e) => events.push(e),
          settle: async () => undefined,
        },
        spec("package"),
        new AbortController().signal,
      );
      expect(result).toEqual({ status: "success", outputs: {} });
      expect(events.map((e) => (e.type === "log" ? e.text : e.type))).toEqual([
        "job.started",
        "while away",
        "last",
      ]);
    },
  );
});

describeOnEachDatabase("the queue timeout", postgres, (context) => {
  test.runIf(context.available)(
    "a job no runner takes fails after the timeout, saying why; a taken one is left alone",
    async () => {
      await seedRun(context.store.db, { run: "run-t" });
      let clock = 1_000_000;
      const timed = new JobDispatch({
        store: context.store,
        box,
        leaseMs: 60_000,
        queueTimeoutMs: 90 * 60_000,
        now: () => clock,
      });
      const events: RunEvent[] = [];
      const job = (key: string, labels: string[]) =>
        timed.execute(
          {
            runId: "run-t",
            attempt: 1,
            source: { repository: "/nowhere.git", sha: "c".repeat(40) },
            sink: (e) => events.push(e),
            settle: async () => undefined,
          },
          { ...spec(key, labels), runId: "run-t" },
          new AbortController().signal,
        );
      const gpu = job("train", ["gpu"]);
      const linux = job("build", ["linux"]);
      const lease = await timed.claim(runner, 10_000);
      expect(lease?.spec.key).toBe("ci.yml / build");
      clock += 90 * 60_000 - 1;
      await timed.timeOutQueued();
      const waiting = await context.store.db
        .selectFrom("queue")
        .select("state")
        .where("job_key", "=", "ci.yml / train")
        .executeTakeFirst();
      expect(waiting?.state).toBe("queued");
      clock += 2;
      await timed.timeOutQueued();
      expect(await gpu).toEqual({ status: "failure", outputs: {}, reason: "queue_timeout" });
      expect(events).toContainEqual(
        expect.objectContaining({
          type: "log",
          job: "ci.yml / train",
          text: expect.stringMatching(
            /^Error: no runner took this job within 90 minutes \(the queue timeout\): .*gpu/,
          ),
        }),
      );
      // The leased job is its runner's, however long it runs.
      await timed.complete(
        { entryId: lease?.entryId ?? "", runnerId: runner.id, token: lease?.token ?? 0 },
        { status: "success", outputs: {} },
        { sent: 0 },
      );
      expect((await linux).status).toBe("success");
    },
  );
});

test.each([
  [24 * 3_600_000, "24 hours"],
  [90 * 60_000, "90 minutes"],
  [60_000, "1 minute"],
  [1_500, "1500 ms"],
])("describeDuration(%i) is %s", (ms, text) => {
  expect(describeDuration(ms)).toBe(text);
});

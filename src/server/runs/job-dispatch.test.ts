import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { seedRun } from "../../../test/helpers/seed.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import type { RunEvent } from "../../engine/run-events.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { JobDispatch } from "./job-dispatch.js";

const postgres = await postgresAvailable();
const box = new SecretBox(randomBytes(32));
const runner = { id: "r1", labels: ["linux"] };

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
      expect(await dispatch.send(entry, 1, 1, [log("one")])).toBe("ok");
      expect(await dispatch.send(entry, 1, 1, [log("one")])).toBe("ok"); // a retry
      expect(await dispatch.send(entry, 1, 2, [log("two")])).toBe("ok");
      expect(await dispatch.send(entry, 2, 3, [log("forged")])).toBe("stale");
      expect(await dispatch.complete(entry, 1, { status: "success", outputs: { a: "1" } })).toBe(
        true,
      );
      expect(await result).toEqual({ status: "success", outputs: { a: "1" } });
      expect(events.map((e) => e.type)).toEqual(["job.waiting", "job.started", "log", "log"]);
      expect(
        events.filter((e) => e.type === "log").map((e) => (e as { text: string }).text),
      ).toEqual(["one", "two"]);
      expect(await dispatch.send(entry, 1, 4, [log("late")])).toBe("stale");
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
    expect(await dispatch.heartbeat(lease?.entryId ?? "", lease?.token ?? 0)).toEqual({
      held: true,
      cancel: false,
    });
    cancel.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(await dispatch.heartbeat(lease?.entryId ?? "", lease?.token ?? 0)).toEqual({
      held: true,
      cancel: true,
    });
    await dispatch.complete(lease?.entryId ?? "", lease?.token ?? 0, {
      status: "cancelled",
      outputs: {},
    });
    expect((await result).status).toBe("cancelled");
  });

  test.runIf(context.available && context.dialect === "postgres")(
    "a claim waiting in one server process wakes for a job queued by another (LISTEN/NOTIFY)",
    async () => {
      const waiting = other.claim(runner, 60_000);
      await new Promise((r) => setTimeout(r, 100));
      const result = dispatch.execute(
        {
          runId: "run-1",
          attempt: 1,
          source,
          sink: () => undefined,
          settle: async () => undefined,
        },
        spec("test"),
        new AbortController().signal,
      );
      const lease = await waiting;
      expect(lease?.spec.key).toBe("ci.yml / test");
      // The job's events go to the process that queued it: the other says to send them later.
      expect(await other.send(lease?.entryId ?? "", lease?.token ?? 0, 1, [])).toBe("later");
      await dispatch.complete(lease?.entryId ?? "", lease?.token ?? 0, {
        status: "success",
        outputs: {},
      });
      expect((await result).status).toBe("success");
    },
    20_000,
  );
});

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KyselyPlugin } from "kysely";
import { expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../test/helpers/databases.js";
import { seedRun } from "../../test/helpers/seed.js";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { ActionStore } from "../actions/action-store.js";
import { EMPTY_REPO_CONFIG } from "../config/repo-config.js";
import { executeRun } from "../engine/run-engine.js";
import { HostExecutor } from "../executors/host/host-executor.js";
import { ActionResolver } from "../runner/actions/action-resolver.js";
import { runJob } from "../runner/job-runner.js";
import { RunRecorder, readLog, resolveUnfinished } from "./run-recorder.js";

const WORKFLOW = `
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: for i in $(seq 1 250); do echo "line $i"; done
      - run: echo "::warning::careful"
      - if: failure()
        run: echo never
  skipped:
    if: false
    runs-on: ubuntu-latest
    steps:
      - run: echo never
`;

const postgres = await postgresAvailable();

describeOnEachDatabase("recording a run in the store", postgres, (db) => {
  const available = db.available;

  test.skipIf(!available)(
    "jobs, steps, annotations, events and every log line, in order",
    async () => {
      const now = Date.now();
      await db.store.db
        .insertInto("repositories")
        .values({ id: "r1", name: "app", default_branch: "main", created_at: now })
        .execute();
      await db.store.db
        .insertInto("runs")
        .values({
          id: "run1",
          repository_id: "r1",
          number: 1,
          attempt: 1,
          workflow_file: "ci.yml",
          workflow_name: "ci",
          event: "push",
          ref: "refs/heads/main",
          sha: "a".repeat(40),
          status: "queued",
          created_at: now,
          started_at: null,
          finished_at: null,
          payload: "{}",
        })
        .execute();
      const recorder = new RunRecorder(db.store.db, "run1");
      const root = mkdtempSync(join(tmpdir(), "trunkline-recorder-"));
      const workflow = await workflowFrom(WORKFLOW, "ci.yml");
      let n = 0;
      const result = await executeRun(
        {
          runId: "run1",
          event: { name: "push", ref: "refs/heads/main", sha: "a".repeat(40) },
          workflows: [{ workflow, inputs: {} }],
          config: EMPTY_REPO_CONFIG,
          vars: {},
          secrets: {},
        },
        {
          maxParallel: 2,
          sink: (e) => recorder.handle(e),
          cancel: new AbortController().signal,
          approved: () => false,
          unrunnable: () => undefined,
          execute: (spec, cancel) =>
            runJob(spec, {
              executor: new HostExecutor({ root: join(root, String(++n)) }),
              sink: (e) => recorder.handle({ ...e, at: Date.now() }),
              cancel,
              actions: new ActionResolver({
                store: new ActionStore(join(root, "a"), []),
                repoRoot: root,
                artifactDir: join(root, "art"),
                actionsCacheDir: join(root, "c"),
              }),
              baseEnv: { PATH: process.env.PATH ?? "" },
            }),
        },
      );
      await recorder.flush();
      expect(result.status).toBe("success");
      const run = await db.store.db
        .selectFrom("runs")
        .selectAll()
        .where("id", "=", "run1")
        .executeTakeFirstOrThrow();
      expect(run.status).toBe("success");
      expect(run.started_at).toBeGreaterThanOrEqual(now);
      const jobs = await db.store.db
        .selectFrom("jobs")
        .select(["key", "status"])
        .where("run_id", "=", "run1")
        .orderBy("key")
        .execute();
      expect(jobs).toEqual([
        { key: "ci.yml / build", status: "success" },
        { key: "ci.yml / skipped", status: "skipped" },
      ]);
      const build = recorder.jobId("ci.yml / build") as string;
      const steps = await db.store.db
        .selectFrom("steps")
        .select(["number", "conclusion"])
        .where("job_id", "=", build)
        .orderBy("number")
        .execute();
      expect(steps).toEqual([
        { number: 1, conclusion: "success" },
        { number: 2, conclusion: "success" },
        { number: 3, conclusion: "skipped" },
      ]);
      const log = await readLog(db.store.db, build, 0, 10_000);
      expect(log.lines.slice(0, 250)).toEqual(
        Array.from({ length: 250 }, (_, i) => `line ${i + 1}`),
      );
      expect(log.next).toBe(log.lines.length);
      expect(log.more).toBe(false);
      const resumed = await readLog(db.store.db, build, 120, 10_000);
      expect(resumed.lines[0]).toBe("line 121");
      expect(resumed.next).toBe(log.next);
      // Pages cut across chunks: together they are the log, no line lost or twice.
      const paged: string[] = [];
      for (let from = 0, more = true; more; ) {
        const page = await readLog(db.store.db, build, from, 7);
        expect(page.lines.length).toBe(page.more ? 7 : log.lines.length - from);
        paged.push(...page.lines);
        ({ next: from, more } = page);
      }
      expect(paged).toEqual(log.lines);
      const annotations = await db.store.db
        .selectFrom("annotations")
        .select(["level", "message"])
        .execute();
      expect(annotations).toEqual([{ level: "warning", message: "careful" }]);
      const events = await db.store.db
        .selectFrom("events")
        .select("type")
        .where("run_id", "=", "run1")
        .orderBy("id")
        .execute();
      expect(events[0]?.type).toBe("run.started");
      expect(events.at(-1)?.type).toBe("run.finished");
    },
  );

  test.skipIf(!available)(
    "after a restart, runs left in progress end as failures instead of staying stuck",
    async () => {
      await seedRun(db.store.db, { run: "stuck", job: "stuck-job" }, { number: 2 });
      expect(await resolveUnfinished(db.store.db, 99)).toBe(1);
      expect(
        await db.store.db
          .selectFrom("runs")
          .select(["status", "finished_at"])
          .where("id", "=", "stuck")
          .executeTakeFirst(),
      ).toEqual({ status: "failure", finished_at: 99 });
      expect(
        await db.store.db
          .selectFrom("jobs")
          .select(["status", "reason"])
          .where("id", "=", "stuck-job")
          .executeTakeFirst(),
      ).toEqual({ status: "failure", reason: "server_restarted" });
      expect(
        (
          await db.store.db
            .selectFrom("runs")
            .select("status")
            .where("id", "=", "run1")
            .executeTakeFirst()
        )?.status,
      ).toBe("success");
      expect(await resolveUnfinished(db.store.db)).toBe(0);
    },
  );

  test.skipIf(!available)(
    "flushes that overlap (each batch of a run's jobs waits for one) lose and double no line",
    async () => {
      await seedRun(db.store.db, { run: "overlap" }, { number: 3 });
      // Every statement answers a little later, in no fixed order, as over a busy network;
      // the test goes on writing each time one of them has answered.
      let answered: () => void = () => undefined;
      const nextAnswer = () =>
        new Promise<void>((resolve) => {
          answered = resolve;
        });
      const slow: KyselyPlugin = {
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
          answered();
          return args.result;
        },
      };
      const recorder = new RunRecorder(db.store.db.withPlugin(slow), "overlap");
      const at = Date.now();
      recorder.handle({ type: "job.queued", job: "j", name: "j", workflow: "ci.yml", at });
      const flushes: Promise<void>[] = [];
      for (let i = 1; i <= 300; i++) {
        recorder.handle({ type: "log", job: "j", stream: "stdout", text: `line ${i}`, at });
        // Batches of other jobs, answered once stored, flush the same recorder meanwhile.
        if (i % 2 === 0) flushes.push(recorder.flush());
        if (i % 3 === 0) await nextAnswer();
      }
      await Promise.all(flushes);
      await recorder.flush();
      const id = recorder.jobId("j") ?? "";
      const page = await readLog(db.store.db, id, 0, 1000);
      expect(page.lines).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    },
  );
});

import { describe, expect, test } from "vitest";
import {
  describeOnEachDatabase,
  postgresAvailable,
  sqliteDatabase,
} from "../../test/helpers/databases.js";
import { appendEvents, readEvents } from "./event-log.js";
import { migrate, openStore, redact } from "./open-store.js";

const postgres = await postgresAvailable();

// Every store test runs against SQLite and against a real Postgres.
describeOnEachDatabase("store", postgres, (db) => {
  const available = db.available;

  test.skipIf(!available)("migrations are idempotent", async () => {
    await migrate(db.store);
    await migrate(db.store);
    const tables = await db.store.db.introspection.getTables();
    expect(
      tables
        .map((t) => t.name)
        .filter((n) => !n.startsWith("kysely_"))
        .sort(),
    ).toEqual([
      "annotations",
      "approvals",
      "artifacts",
      "environments",
      "events",
      "jobs",
      "log_chunks",
      "queue",
      "queue_batches",
      "repositories",
      "runners",
      "runs",
      "schedule_fires",
      "secrets",
      "servers",
      "signing_keys",
      "steps",
      "tokens",
      "webhook_deliveries",
    ]);
  });

  test.skipIf(!available)("runs, jobs and log chunks round-trip; times stay numbers", async () => {
    const at = Date.UTC(2026, 10, 26, 9, 30);
    await db.store.db
      .insertInto("repositories")
      .values({ id: "r1", name: "orders", default_branch: "main", created_at: at })
      .execute();
    await db.store.db
      .insertInto("runs")
      .values({
        id: "run1",
        repository_id: "r1",
        number: 1,
        attempt: 1,
        workflow_file: "ci.yml",
        workflow_name: "CI",
        event: "push",
        ref: "refs/heads/main",
        sha: "a".repeat(40),
        status: "queued",
        created_at: at,
        started_at: null,
        finished_at: null,
        payload: "{}",
      })
      .execute();
    await db.store.db
      .insertInto("jobs")
      .values({
        id: "j1",
        run_id: "run1",
        attempt: 1,
        key: "ci.yml / build",
        name: "build",
        status: "running",
        reason: null,
        started_at: at,
        finished_at: null,
        outputs: "{}",
      })
      .execute();
    await db.store.db
      .insertInto("log_chunks")
      .values([
        { job_id: "j1", offset: 0, lines: "one\ntwo", line_count: 2 },
        { job_id: "j1", offset: 2, lines: "three", line_count: 1 },
      ])
      .execute();
    const run = await db.store.db
      .selectFrom("runs")
      .selectAll()
      .where("id", "=", "run1")
      .executeTakeFirstOrThrow();
    expect(run.created_at).toBe(at);
    expect(typeof run.created_at).toBe("number");
    const chunks = await db.store.db
      .selectFrom("log_chunks")
      .select(["offset", "lines"])
      .where("job_id", "=", "j1")
      .orderBy("offset")
      .execute();
    expect(chunks).toEqual([
      { offset: 0, lines: "one\ntwo" },
      { offset: 2, lines: "three" },
    ]);
  });

  test.skipIf(!available)(
    "a secret's scope and name are unique; a second insert is refused",
    async () => {
      const row = {
        scope: "repository",
        repository_id: "r1",
        environment: "",
        name: "TOKEN",
        ciphertext: "x",
        created_at: 1,
        updated_at: 1,
      };
      await db.store.db
        .insertInto("secrets")
        .values({ id: "s1", ...row })
        .execute();
      await expect(
        db.store.db
          .insertInto("secrets")
          .values({ id: "s2", ...row })
          .execute(),
      ).rejects.toThrow();
      await db.store.db
        .insertInto("secrets")
        .values({ id: "s3", ...row, environment: "prod", scope: "environment" })
        .execute();
    },
  );

  test.skipIf(!available)("a failed transaction leaves nothing behind", async () => {
    await expect(
      db.store.db.transaction().execute(async (tx) => {
        await tx
          .insertInto("tokens")
          .values({
            id: "t1",
            name: "ci",
            role: "admin",
            hash: "h1",
            created_at: 1,
            last_used_at: null,
          })
          .execute();
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.store.db.selectFrom("tokens").selectAll().execute()).toEqual([]);
  });

  test.skipIf(!available)(
    "the event log appends in order and reads after an id, per run",
    async () => {
      const ids = await appendEvents(db.store.db, [
        { runId: "run1", type: "run.queued", at: 1, data: { n: 1 } },
        { runId: "run1", type: "job.started", at: 2, data: { n: 2 } },
        { type: "token.created", at: 3, data: { n: 3 } },
      ]);
      expect(ids).toHaveLength(3);
      expect(ids[1]).toBeGreaterThan(ids[0] as number);
      const all = await readEvents(db.store.db);
      expect(all.map((e) => [e.type, e.data])).toEqual([
        ["run.queued", { n: 1 }],
        ["job.started", { n: 2 }],
        ["token.created", { n: 3 }],
      ]);
      expect((await readEvents(db.store.db, { after: ids[0] })).map((e) => e.type)).toEqual([
        "job.started",
        "token.created",
      ]);
      expect((await readEvents(db.store.db, { runId: "run1" })).map((e) => e.type)).toEqual([
        "run.queued",
        "job.started",
      ]);
      expect(await appendEvents(db.store.db, [])).toEqual([]);
    },
  );
});

describe("store options", () => {
  test("a URL that is not Postgres is refused, naming the flag; passwords are hidden", async () => {
    await expect(openStore({ url: "mysql://u:secret@h/db" })).rejects.toThrow(
      "--database mysql://u:***@h/db: expected a postgres:// URL",
    );
    expect(redact("postgres://ana:hunter2@db:5432/x")).toBe("postgres://ana:***@db:5432/x");
  });

  test("an unreachable Postgres is a clear error", async () => {
    await expect(openStore({ url: "postgres://nobody@127.0.0.1:1/none" })).rejects.toThrow(
      /^cannot connect to postgres:\/\/nobody@127.0.0.1:1\/none/,
    );
  });

  test("SQLite runs in WAL mode", async () => {
    const database = sqliteDatabase();
    const store = await openStore(database.options);
    const { sql } = await import("kysely");
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    expect(mode.rows[0]?.journal_mode).toBe("wal");
    await store.close();
    await database.drop();
  });
});

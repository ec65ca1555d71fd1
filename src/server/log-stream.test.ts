import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { seedRun } from "../../test/helpers/seed.js";
import { SecretBox } from "../secrets/secret-box.js";
import { openStore, type Store } from "../store/open-store.js";
import { buildApp } from "./app.js";
import { createToken } from "./auth/tokens.js";

/**
 * Reads an SSE stream to its end: `[id, data]` per line event, and the end event's data.
 * `onLines` hears the count of line events each time more arrive, so a test can write the
 * next lines once the earlier ones were seen (no guessing how long delivery takes).
 */
async function readStream(
  url: string,
  headers: Record<string, string>,
  onLines?: (count: number) => Promise<void>,
) {
  const response = await fetch(url, { headers });
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  const events: string[] = [];
  const lineEvents = () => events.filter((e) => e.startsWith("id: "));
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    const complete = buffered.split("\n\n");
    buffered = complete.pop() ?? "";
    const before = lineEvents().length;
    events.push(...complete.filter(Boolean));
    const now = lineEvents().length;
    if (onLines && now > before) await onLines(now);
  }
  const lines = lineEvents().map((e) => {
    const [id, data] = e.split("\n");
    return [Number(id?.slice(4)), data?.slice(6)] as const;
  });
  const end = events.find((e) => e.startsWith("event: end"));
  return { lines, end: end ? JSON.parse(end.split("\n")[1]?.slice(6) ?? "{}") : undefined };
}

describe("live logs over Server-Sent Events", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    headers = {
      authorization: `Bearer ${(await createToken(store.db, "reader", "viewer")).token}`,
    };
    await seedRun(store.db, { run: "run1", job: "j1" });
    await store.db
      .insertInto("log_chunks")
      .values({ job_id: "j1", offset: 0, lines: "one\ntwo", line_count: 2 })
      .execute();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
  });

  test("lines arrive as they are written; a reconnect with Last-Event-ID misses none and repeats none", async () => {
    const url = `${base}/api/v1/jobs/j1/logs/stream`;
    // The job goes on while the client listens: more lines once the first arrived, then the end.
    const first = await readStream(url, headers, async (count) => {
      if (count === 2)
        await store.db
          .insertInto("log_chunks")
          .values({ job_id: "j1", offset: 2, lines: "three\nfour", line_count: 2 })
          .execute();
      if (count === 4)
        await store.db
          .updateTable("jobs")
          .set({ status: "success" })
          .where("id", "=", "j1")
          .execute();
    });
    expect(first.lines).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
      [4, "four"],
    ]);
    expect(first.end).toEqual({ status: "success" });
    const resumed = await readStream(url, { ...headers, "last-event-id": "2" });
    expect(resumed.lines).toEqual([
      [3, "three"],
      [4, "four"],
    ]);
    const fromQuery = await readStream(`${url}?from=3`, headers);
    expect(fromQuery.lines).toEqual([[4, "four"]]);
  });

  test("a store read that fails ends the stream without its end event, so the client reconnects", async () => {
    await sql`ALTER TABLE log_chunks RENAME TO log_chunks_away`.execute(store.db);
    try {
      const cut = await readStream(`${base}/api/v1/jobs/j1/logs/stream`, headers);
      expect(cut).toEqual({ lines: [], end: undefined });
    } finally {
      await sql`ALTER TABLE log_chunks_away RENAME TO log_chunks`.execute(store.db);
    }
  });

  test("needs a token; an unknown job is a 404", async () => {
    expect((await fetch(`${base}/api/v1/jobs/j1/logs/stream`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/jobs/nope/logs/stream`, { headers })).status).toBe(404);
  });
});

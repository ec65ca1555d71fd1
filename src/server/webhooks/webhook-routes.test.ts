import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { readEvents } from "../../store/event-log.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import type { RefUpdate } from "../git/git-http.js";
import { signBody } from "./signature.js";

const SECRET = "webhook-secret";

describe("GitHub webhooks", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  const pushes: { repo: string; updates: readonly RefUpdate[] }[] = [];

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: false,
      webhookSecret: SECRET,
      onPush: (repo, updates) => pushes.push({ repo, updates }),
    });
    await store.db
      .insertInto("repositories")
      .values({ id: "r1", name: "app", default_branch: "main", created_at: 1 })
      .execute();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
  });

  const deliver = (body: string, headers: Record<string, string>) =>
    app.inject({
      method: "POST",
      url: "/webhooks/github",
      payload: body,
      headers: { "content-type": "application/json", ...headers },
    });
  const push = JSON.stringify({
    ref: "refs/heads/main",
    before: "1".repeat(40),
    after: "2".repeat(40),
    repository: { name: "app" },
  });

  test("unsigned or wrongly signed deliveries are refused with 401", async () => {
    expect(
      (await deliver(push, { "x-github-delivery": "d0", "x-github-event": "push" })).statusCode,
    ).toBe(401);
    const forged = await deliver(push, {
      "x-github-delivery": "d0",
      "x-github-event": "push",
      "x-hub-signature-256": signBody("guess", push),
    });
    expect(forged.json()).toEqual({
      code: "bad_signature",
      message: "missing or wrong X-Hub-Signature-256",
    });
    expect(pushes).toEqual([]);
  });

  test("a signed push to a hosted repository is accepted once; a repeated delivery does nothing", async () => {
    const headers = {
      "x-github-delivery": "d1",
      "x-github-event": "push",
      "x-hub-signature-256": signBody(SECRET, push),
    };
    const first = await deliver(push, headers);
    expect(first.statusCode).toBe(202);
    expect(pushes).toEqual([
      {
        repo: "app",
        updates: [{ ref: "refs/heads/main", before: "1".repeat(40), after: "2".repeat(40) }],
      },
    ]);
    const again = await deliver(push, headers);
    expect(again.json()).toEqual({ status: "duplicate", delivery: "d1" });
    expect(pushes).toHaveLength(1);
    const events = await readEvents(store.db);
    expect(events.filter((e) => e.type === "webhook.received").map((e) => e.data)).toEqual([
      { delivery: "d1", event: "push", repository: "app" },
    ]);
  });

  test("bad deliveries are 400s", async () => {
    const body = "{not json";
    expect(
      (
        await deliver(body, {
          "x-github-delivery": "d2",
          "x-github-event": "push",
          "x-hub-signature-256": signBody(SECRET, body),
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (await deliver(push, { "x-hub-signature-256": signBody(SECRET, push) })).statusCode,
    ).toBe(400);
  });
});

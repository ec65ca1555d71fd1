import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { readEvents } from "../../store/event-log.js";
import { openStore, type Store } from "../../store/open-store.js";
import type { WebhookIntent } from "../../triggers/webhook-event.js";
import { buildApp } from "../app.js";
import { signBody } from "./signature.js";

const SECRET = "webhook-secret";

describe("GitHub webhooks", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  const heard: { repo: string; intent: WebhookIntent }[] = [];

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: false,
      webhookSecret: SECRET,
      onWebhook: (repo, intent) => heard.push({ repo: repo.name, intent }),
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
    expect(heard).toEqual([]);
  });

  test("a signed push to a hosted repository is accepted once; a repeated delivery does nothing", async () => {
    const headers = {
      "x-github-delivery": "d1",
      "x-github-event": "push",
      "x-hub-signature-256": signBody(SECRET, push),
    };
    const first = await deliver(push, headers);
    expect(first.statusCode).toBe(202);
    expect(heard).toEqual([
      {
        repo: "app",
        intent: {
          kind: "push",
          ref: "refs/heads/main",
          before: "1".repeat(40),
          after: "2".repeat(40),
        },
      },
    ]);
    const again = await deliver(push, headers);
    expect(again.json()).toEqual({ status: "duplicate", delivery: "d1" });
    expect(heard).toHaveLength(1);
    const events = await readEvents(store.db);
    expect(events.filter((e) => e.type === "webhook.received").map((e) => e.data)).toEqual([
      { delivery: "d1", event: "push", repository: "app" },
    ]);
  });

  test("deliveries that start nothing say why; mirrored repositories are found by owner/name", async () => {
    const signed = (event: string, delivery: string, body: unknown) => {
      const text = JSON.stringify(body);
      return deliver(text, {
        "x-github-delivery": delivery,
        "x-github-event": event,
        "x-hub-signature-256": signBody(SECRET, text),
      });
    };
    expect((await signed("ping", "p1", { zen: "hi", repository: { name: "app" } })).json()).toEqual(
      {
        status: "ignored",
        delivery: "p1",
        reason: "ping: nothing to run",
      },
    );
    expect(
      (
        await signed("push", "p2", { ref: "refs/heads/main", repository: { name: "other" } })
      ).json(),
    ).toEqual({ status: "ignored", delivery: "p2", reason: "no repository here is 'other'" });
    await store.db
      .insertInto("repositories")
      .values({
        id: "r2",
        name: "mirror",
        default_branch: "main",
        created_at: 1,
        remote_url: "https://example.com/acme/shop.git",
        remote_name: "acme/shop",
      })
      .execute();
    const before = heard.length;
    const answer = await signed("create", "p3", {
      ref: "v1",
      ref_type: "tag",
      repository: { full_name: "acme/shop", name: "shop" },
    });
    expect(answer.statusCode).toBe(202);
    expect(heard.slice(before)).toEqual([
      { repo: "mirror", intent: { kind: "create", ref: "refs/tags/v1" } },
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

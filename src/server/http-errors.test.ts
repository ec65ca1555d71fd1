import { randomBytes } from "node:crypto";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { SecretBox } from "../secrets/secret-box.js";
import { openStore, type Store } from "../store/open-store.js";
import { buildApp } from "./app.js";
import { createToken } from "./auth/tokens.js";

describe("every error the API answers is { code, message }", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let admin: Record<string, string>;

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false });
    admin = { authorization: `Bearer ${(await createToken(store.db, "a", "admin")).token}` };
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
  });

  const post =
    (payload: string, type = "application/json") =>
    (): InjectOptions => ({
      method: "POST",
      url: "/api/v1/repositories",
      headers: { ...admin, "content-type": type },
      payload,
    });

  const cases: [string, () => InjectOptions, number, { code: string; message: string }][] = [
    [
      "an unknown route",
      () => ({ url: "/api/v1/nothing-here" }),
      404,
      { code: "not_found", message: "no route GET /api/v1/nothing-here" },
    ],
    [
      "an unknown route, its query left out of the message",
      () => ({ url: "/nope?token=tl_abcdefghijk" }),
      404,
      { code: "not_found", message: "no route GET /nope" },
    ],
    [
      "a known path with a method it does not have",
      () => ({ method: "DELETE", url: "/healthz" }),
      404,
      { code: "not_found", message: "no route DELETE /healthz" },
    ],
    [
      "a body that is not JSON",
      post("{"),
      400,
      { code: "invalid_request", message: "body: not valid JSON" },
    ],
    [
      "an empty JSON body",
      post(""),
      400,
      { code: "invalid_request", message: "body: empty, but content-type is application/json" },
    ],
    [
      "a content type no route reads",
      post("<repo/>", "application/xml"),
      415,
      {
        code: "unsupported_media_type",
        message: "content-type: 'application/xml' is not accepted here; send application/json",
      },
    ],
    [
      "a body over the limit",
      post(JSON.stringify({ name: "x".repeat(1024 * 1024) })),
      413,
      {
        code: "payload_too_large",
        message: "body: larger than the 1048576 bytes this route accepts",
      },
    ],
  ];

  test.each(cases)("%s", async (_what, request, status, body) => {
    const response = await app.inject(request());
    expect([response.statusCode, response.json()]).toEqual([status, body]);
  });
});

import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../test/helpers/databases.js";
import { SecretBox } from "../secrets/secret-box.js";
import { openStore, type Store } from "../store/open-store.js";
import { buildApp } from "./app.js";
import { createToken } from "./auth/tokens.js";
import { REDACTED, redactUrl } from "./request-log.js";

describe("redactUrl", () => {
  test.each([
    ["/api/v1/repositories", "/api/v1/repositories"],
    ["/api/v1/jobs/j1/logs?from=5&limit=10", "/api/v1/jobs/j1/logs?from=5&limit=10"],
    ["/x?token=abc", `/x?token=${REDACTED}`],
    ["/x?access_token=abc&from=1", `/x?access_token=${REDACTED}&from=1`],
    ["/x?Access%5FToken=abc", `/x?Access%5FToken=${REDACTED}`],
    [
      "/x?api_key=k&secret=s&password=p&sig=g",
      `/x?api_key=${REDACTED}&secret=${REDACTED}&password=${REDACTED}&sig=${REDACTED}`,
    ],
    ["/x?t=tl_abcdefghijklmnop", `/x?t=${REDACTED}`],
    ["/x?t=runner%20tlr_abcdefghijklmnop", `/x?t=${REDACTED}`],
    ["/x?tl_abcdefghijklmnop", `/x?${REDACTED}`],
    ["/x/tl_abcdefghijklmnop/y", `/x/${REDACTED}/y`],
    ["/x?token", "/x?token"],
    ["/x?a=%E0%A4%A", "/x?a=%E0%A4%A"],
  ])("%s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe("no token in a URL's query reaches the server's log", () => {
  let database: TestDatabase;
  let store: Store;
  let token: string;

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    token = (await createToken(store.db, "reader", "viewer")).token;
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  /** Sends requests carrying `token` in their queries and returns every log line written. */
  async function logOf(app: FastifyInstance, lines: string[]): Promise<string> {
    const urls = [
      `/api/v1/repositories?token=${token}`,
      `/api/v1/repositories?access_token=${encodeURIComponent(token)}&limit=5`,
      `/api/v1/jobs/j1/logs/stream?from=0&token=${token}`,
      `/api/v1/jobs/j1/logs?auth=${token}`,
      `/nowhere?x=${token}`,
    ];
    for (const url of urls) await app.inject({ url });
    await app.inject({
      url: `/api/v1/repositories?k=${token}`,
      headers: { authorization: `Bearer ${token}` },
    });
    await app.close();
    expect(lines.length).toBeGreaterThanOrEqual(urls.length * 2);
    return lines.join("\n");
  }

  test("with the logger instance `serve` passes", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const app = await buildApp({ store, box: new SecretBox(randomBytes(32)), loggerInstance: log });
    const text = await logOf(app, lines);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(3));
    expect(text).toContain(`"url":"/api/v1/repositories?token=${REDACTED}"`);
    expect(text).toContain(`"url":"/api/v1/repositories?access_token=${REDACTED}&limit=5"`);
  });

  test("with logger options", async () => {
    const lines: string[] = [];
    const app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: { level: "info", stream: { write: (line: string) => lines.push(line) } },
    });
    const text = await logOf(app, lines);
    expect(text).not.toContain(token.slice(3));
    expect(text).toContain(`"url":"/api/v1/jobs/j1/logs/stream?from=0&token=${REDACTED}"`);
  });
});

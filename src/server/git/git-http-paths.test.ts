import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { basicAuth, rawRequest } from "../../../test/helpers/git-wire.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { createToken } from "../auth/tokens.js";

const ADVERTISE = "info/refs?service=git-upload-pack";

/** Requests that try to leave the repositories' folder, or to reach what git should not serve. */
const attempts: { method: "GET" | "POST"; path: string }[] = [
  { method: "GET", path: "/git/../../x" },
  { method: "GET", path: `/git/../../etc.git/${ADVERTISE}` },
  { method: "GET", path: `/git/..%2F..%2Fetc.git/${ADVERTISE}` },
  { method: "GET", path: `/git/..%2f..%2fapp.git/${ADVERTISE}` },
  { method: "GET", path: `/git/%2e%2e/%2e%2e/app.git/${ADVERTISE}` },
  { method: "GET", path: `/git/%2E%2E/app.git/${ADVERTISE}` },
  { method: "GET", path: `/git/...git/${ADVERTISE}` },
  { method: "GET", path: `/git/%2E%2E.git/${ADVERTISE}` },
  { method: "GET", path: `/git/%2e.git/${ADVERTISE}` },
  { method: "GET", path: `/git/a..b.git/${ADVERTISE}` },
  { method: "GET", path: `/git//etc/passwd.git/${ADVERTISE}` },
  { method: "GET", path: `/git/%2Fetc%2Fpasswd.git/${ADVERTISE}` },
  { method: "GET", path: `/git/%5C..%5C..%5Capp.git/${ADVERTISE}` },
  { method: "GET", path: "/git/app.git/../../.." },
  { method: "GET", path: "/git/app.git/../../../etc/passwd" },
  { method: "GET", path: "/git/app.git/%2e%2e/%2e%2e/%2e%2e/etc/passwd" },
  { method: "GET", path: "/git/app.git/..%2f..%2f..%2fetc%2fpasswd" },
  { method: "GET", path: "/git/app.git/info/refs/../../HEAD" },
  { method: "GET", path: "/git/app.git/info%2frefs?service=git-upload-pack" },
  { method: "GET", path: "/git/app.git/%00" },
  { method: "GET", path: `/git/app.git%00/${ADVERTISE}` },
  { method: "GET", path: "/git/app.git/HEAD" },
  { method: "GET", path: "/git/app.git/config" },
  { method: "GET", path: "/git/app.git/objects/info/packs" },
  { method: "GET", path: "/git/app.git/info/refs" },
  { method: "GET", path: "/git/app.git/info/refs?service=git-upload-archive" },
  { method: "GET", path: "/git/app.git/git-upload-pack" },
  { method: "POST", path: "/git/../../x.git/git-upload-pack" },
  { method: "POST", path: "/git/app.git/../../../x/git-upload-pack" },
  { method: "POST", path: "/git/app.git/info/refs?service=git-upload-pack" },
];

describe("git paths outside a repository are refused, with the API's error shape", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let dataDir: string;
  let viewer: string;

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    dataDir = mkdtempSync(join(tmpdir(), "trunkline-git-"));
    app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false, dataDir });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const admin = (await createToken(store.db, "admin", "admin")).token;
    viewer = (await createToken(store.db, "viewer", "viewer")).token;
    const created = await app.inject({
      method: "POST",
      url: "/api/v1/repositories",
      headers: { authorization: `Bearer ${admin}` },
      payload: { name: "app" },
    });
    expect(created.statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test.each(attempts)("$method $path answers 400 or 404", async ({ method, path }) => {
    const answer = await rawRequest(base, method, path, {
      headers: { authorization: basicAuth(viewer) },
    });
    expect([400, 404], answer.body.toString()).toContain(answer.status);
    const body = JSON.parse(answer.body.toString()) as { code: unknown; message: unknown };
    expect(body).toEqual({ code: expect.any(String), message: expect.any(String) });
    expect(body.message).not.toMatch(/\n\s+at /); // no stack trace
  });

  test("the served paths still answer", async () => {
    const answer = await rawRequest(base, "GET", `/git/app.git/${ADVERTISE}`, {
      headers: { authorization: basicAuth(viewer) },
    });
    expect(answer.status).toBe(200);
    expect(existsSync(join(dataDir, "repos", "app.git", "HEAD"))).toBe(true);
  });
});

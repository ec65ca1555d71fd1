import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  postgresAvailable,
  postgresDatabase,
  sqliteDatabase,
  type TestDatabase,
} from "../../test/helpers/databases.js";
import { SecretBox } from "../secrets/secret-box.js";
import { openStore, type Store } from "../store/open-store.js";
import { buildApp } from "./app.js";
import { createToken } from "./auth/tokens.js";

const postgres = await postgresAvailable();

describe.each([
  ["sqlite", true],
  ["postgres", postgres],
] as const)("the API on %s", (dialect, available) => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });

  beforeAll(async () => {
    if (!available) return;
    database = dialect === "sqlite" ? sqliteDatabase() : await postgresDatabase();
    store = await openStore(database.options);
    for (const role of ["admin", "maintainer", "developer", "viewer"])
      tokens[role] = (await createToken(store.db, role, role)).token;
    app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false });
  });
  afterAll(async () => {
    if (!available) return;
    await app.close();
    await store.close();
    await database.drop();
  });

  test.skipIf(!available)("health needs no token; everything else does", async () => {
    expect((await app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const anonymous = await app.inject({ url: "/api/v1/repositories" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({
      code: "unauthorized",
      message: "a valid API token is required (Authorization: Bearer <token>)",
    });
    expect(
      (
        await app.inject({
          url: "/api/v1/repositories",
          headers: { authorization: "Bearer tl_forged" },
        })
      ).statusCode,
    ).toBe(401);
    expect((await app.inject({ url: "/openapi.json" })).statusCode).toBe(401);
  });

  // Route by route: who may do what.
  test.skipIf(!available)("roles, route by route", async () => {
    const cases: [
      string,
      string,
      string,
      Record<string, unknown> | undefined,
      Record<string, number>,
    ][] = [
      [
        "POST",
        "/api/v1/repositories",
        "create repo",
        { name: "orders" },
        { viewer: 403, developer: 403, maintainer: 403, admin: 201 },
      ],
      [
        "GET",
        "/api/v1/repositories",
        "list repos",
        undefined,
        { viewer: 200, developer: 200, maintainer: 200, admin: 200 },
      ],
      [
        "PUT",
        "/api/v1/repositories/orders/secrets/TOKEN",
        "set secret",
        { value: "s3cret" },
        { viewer: 403, developer: 403, maintainer: 204, admin: 204 },
      ],
      [
        "GET",
        "/api/v1/repositories/orders/secrets",
        "list secrets",
        undefined,
        { viewer: 200, developer: 200, maintainer: 200, admin: 200 },
      ],
      [
        "POST",
        "/api/v1/tokens",
        "create token",
        { name: "bot", role: "viewer" },
        { viewer: 403, developer: 403, maintainer: 403, admin: 201 },
      ],
      [
        "GET",
        "/api/v1/tokens",
        "list tokens",
        undefined,
        { viewer: 403, developer: 403, maintainer: 403, admin: 200 },
      ],
      [
        "DELETE",
        "/api/v1/tokens/nope",
        "revoke token",
        undefined,
        { viewer: 403, developer: 403, maintainer: 403, admin: 404 },
      ],
      [
        "PUT",
        "/api/v1/secrets/ORG_TOKEN",
        "set organisation secret",
        { value: "s3cret" },
        { viewer: 403, developer: 403, maintainer: 403, admin: 204 },
      ],
      [
        "PUT",
        "/api/v1/repositories/orders/environments/prod/secrets/TOKEN",
        "set environment secret",
        { value: "s3cret" },
        { viewer: 403, developer: 403, maintainer: 204, admin: 204 },
      ],
      [
        "DELETE",
        "/api/v1/repositories/orders/secrets/NONE",
        "delete secret",
        undefined,
        { viewer: 403, developer: 403, maintainer: 404, admin: 404 },
      ],
      // This app runs nothing: past the role check, control routes say so (422) or 404.
      [
        "POST",
        "/api/v1/runs/nope/cancel",
        "cancel",
        undefined,
        { viewer: 403, developer: 404, maintainer: 404, admin: 404 },
      ],
      [
        "POST",
        "/api/v1/runs/nope/rerun",
        "rerun",
        {},
        { viewer: 403, developer: 422, maintainer: 422, admin: 422 },
      ],
      [
        "POST",
        "/api/v1/repositories/orders/dispatch",
        "dispatch",
        { workflow: "ci.yml" },
        { viewer: 403, developer: 422, maintainer: 422, admin: 422 },
      ],
      [
        "GET",
        "/api/v1/repositories/orders/schedules",
        "list schedules",
        undefined,
        { viewer: 200, developer: 200, maintainer: 200, admin: 200 },
      ],
      [
        "GET",
        "/api/v1/servers",
        "list server processes",
        undefined,
        { viewer: 200, developer: 200, maintainer: 200, admin: 200 },
      ],
    ];
    await app.inject({
      method: "POST",
      url: "/api/v1/repositories",
      headers: as("admin"),
      payload: { name: "orders" },
    });
    for (const [method, url, what, body, expected] of cases) {
      for (const role of ["viewer", "developer", "maintainer", "admin"]) {
        const payload =
          url === "/api/v1/repositories" && method === "POST" ? { name: `repo-${role}` } : body;
        const response = await app.inject({
          method: method as "GET",
          url,
          headers: as(role),
          ...(payload ? { payload } : {}),
        });
        expect(response.statusCode, `${role} ${what}`).toBe(expected[role]);
      }
    }
  });

  test.skipIf(!available)("secret values go in and never come out", async () => {
    expect(
      (
        await app.inject({
          method: "POST",
          url: "/api/v1/repositories",
          headers: as("admin"),
          payload: { name: "orders" },
        })
      ).statusCode,
    ).toBe(409);
    await app.inject({
      method: "PUT",
      url: "/api/v1/repositories/orders/secrets/DB_PASSWORD",
      headers: as("maintainer"),
      payload: { value: "hunter2-secret" },
    });
    const listed = await app.inject({
      url: "/api/v1/repositories/orders/secrets",
      headers: as("viewer"),
    });
    expect(listed.json().map((s: { name: string }) => s.name)).toContain("DB_PASSWORD");
    expect(listed.body).not.toContain("hunter2-secret");
    const deleted = await app.inject({
      method: "DELETE",
      url: "/api/v1/repositories/orders/secrets/DB_PASSWORD",
      headers: as("maintainer"),
    });
    expect(deleted.statusCode).toBe(204);
    const again = await app.inject({
      method: "DELETE",
      url: "/api/v1/repositories/orders/secrets/DB_PASSWORD",
      headers: as("maintainer"),
    });
    expect(again.json()).toEqual({ code: "not_found", message: "no secret 'DB_PASSWORD'" });
  });

  test.skipIf(!available)("bad requests are 400s that name the field, never 500s", async () => {
    const bad = async (url: string, payload: unknown, method = "POST") =>
      (
        await app.inject({
          method: method as "POST",
          url,
          headers: { ...as("admin"), "content-type": "application/json" },
          payload: payload as string,
        })
      ).json();
    expect(await bad("/api/v1/repositories", {})).toEqual({
      code: "invalid_request",
      message: "body: must have required property 'name'",
    });
    expect(await bad("/api/v1/repositories", { name: "no spaces" })).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/^body\.name: must match pattern/),
    });
    expect(await bad("/api/v1/tokens", { name: "x", role: "root" })).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/^body\.role: must be equal to one of the allowed values/),
    });
    expect(await bad("/api/v1/repositories", { name: "m", remoteUrl: "ftp://x" })).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/^body\.remoteUrl: must match pattern/),
    });
    expect(await bad("/api/v1/runs/x/rerun", { failedOnly: "yes" })).toEqual({
      code: "invalid_request",
      message: "body.failedOnly: must be boolean",
    });
    expect(await bad("/api/v1/repositories", "{not json")).toMatchObject({
      code: expect.any(String),
      message: expect.any(String),
    });
    expect(
      (
        await app.inject({
          method: "PUT",
          url: "/api/v1/repositories/nope/secrets/X",
          headers: as("admin"),
          payload: { value: "v" },
        })
      ).json(),
    ).toEqual({
      code: "not_found",
      message: "no repository 'nope'",
    });
    expect(
      (
        await app.inject({
          method: "PUT",
          url: "/api/v1/repositories/orders/secrets/1BAD",
          headers: as("admin"),
          payload: { value: "v" },
        })
      ).statusCode,
    ).toBe(400);
  });

  test.skipIf(!available)("the OpenAPI document describes the routes", async () => {
    const doc = (await app.inject({ url: "/openapi.json", headers: as("viewer") })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/healthz",
        "/api/v1/repositories",
        "/api/v1/repositories/{repo}/secrets",
        "/api/v1/repositories/{repo}/secrets/{name}",
        "/api/v1/repositories/{repo}/environments/{env}/secrets/{name}",
        "/api/v1/secrets/{name}",
        "/api/v1/tokens",
        "/api/v1/runs/{id}/rerun",
        "/api/v1/jobs/{id}",
        "/api/v1/repositories/{repo}/schedules",
        "/api/v1/servers",
      ]),
    );
  });
});

describe("runs and logs through the API", () => {
  test("list, show, and read logs from any line", async () => {
    const database = sqliteDatabase();
    const store = await openStore(database.options);
    const app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false });
    const { token } = await createToken(store.db, "reader", "viewer");
    const headers = { authorization: `Bearer ${token}` };
    await store.db
      .insertInto("repositories")
      .values({ id: "r1", name: "app", default_branch: "main", created_at: 1 })
      .execute();
    await store.db
      .insertInto("runs")
      .values({
        id: "run1",
        repository_id: "r1",
        number: 7,
        attempt: 1,
        workflow_file: "ci.yml",
        workflow_name: "CI",
        event: "push",
        ref: "refs/heads/main",
        sha: "b".repeat(40),
        status: "success",
        created_at: 1,
        started_at: 2,
        finished_at: 3,
        payload: "{}",
      })
      .execute();
    await store.db
      .insertInto("jobs")
      .values({
        id: "j1",
        run_id: "run1",
        attempt: 1,
        key: "ci.yml / build",
        name: "build",
        status: "success",
        reason: null,
        started_at: 2,
        finished_at: 3,
        outputs: "{}",
      })
      .execute();
    await store.db
      .insertInto("log_chunks")
      .values([
        { job_id: "j1", offset: 0, lines: "a\nb", line_count: 2 },
        { job_id: "j1", offset: 2, lines: "c", line_count: 1 },
      ])
      .execute();
    const runs = (await app.inject({ url: "/api/v1/repositories/app/runs", headers })).json();
    expect(runs).toEqual([
      {
        id: "run1",
        number: 7,
        attempt: 1,
        workflow: "CI",
        workflowFile: "ci.yml",
        event: "push",
        ref: "refs/heads/main",
        sha: "b".repeat(40),
        status: "success",
        createdAt: 1,
        startedAt: 2,
        finishedAt: 3,
      },
    ]);
    const shown = (await app.inject({ url: "/api/v1/runs/run1", headers })).json();
    expect(shown.jobs).toEqual([
      {
        id: "j1",
        key: "ci.yml / build",
        name: "build",
        status: "success",
        reason: null,
        startedAt: 2,
        finishedAt: 3,
      },
    ]);
    expect((await app.inject({ url: "/api/v1/repositories/app/runs/7", headers })).json().id).toBe(
      "run1",
    );
    expect((await app.inject({ url: "/api/v1/repositories/app/runs/8", headers })).json()).toEqual({
      code: "not_found",
      message: "no run #8 in app",
    });
    const noAttempt = await app.inject({ url: "/api/v1/runs/run1?attempt=2", headers });
    expect([noAttempt.statusCode, noAttempt.json()]).toEqual([
      404,
      { code: "not_found", message: "run 'run1' has no attempt 2; it has attempt 1 only" },
    ]);
    expect((await app.inject({ url: "/api/v1/jobs/j1/logs", headers })).json()).toEqual({
      lines: ["a", "b", "c"],
      next: 3,
      more: false,
    });
    expect((await app.inject({ url: "/api/v1/jobs/j1/logs?from=1", headers })).json()).toEqual({
      lines: ["b", "c"],
      next: 3,
      more: false,
    });
    expect((await app.inject({ url: "/api/v1/jobs/j1/logs?from=3", headers })).json()).toEqual({
      lines: [],
      next: 3,
      more: false,
    });
    expect((await app.inject({ url: "/api/v1/jobs/j1/logs?from=-1", headers })).statusCode).toBe(
      400,
    );
    expect((await app.inject({ url: "/api/v1/runs/nope", headers })).statusCode).toBe(404);
    await app.close();
    await store.close();
    await database.drop();
  });
});

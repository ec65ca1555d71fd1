import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  postgresAvailable,
  postgresDatabase,
  sqliteDatabase,
  type TestDatabase,
} from "../../test/helpers/databases.js";
import { committed, git } from "../../test/helpers/git.js";
import { SecretBox } from "../secrets/secret-box.js";
import { setSecret } from "../secrets/secret-store.js";
import { openStore, type Store } from "../store/open-store.js";
import { buildApp } from "./app.js";
import { createToken } from "./auth/tokens.js";
import { PushRuns } from "./push-runs.js";

const WORKFLOW = `name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "building $GITHUB_SHA" && test -f README.md
      - run: test "\${{ secrets.DEPLOY_KEY }}" = k3y && echo "secret is \${{ secrets.DEPLOY_KEY }}"
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo tested
`;

const postgres = await postgresAvailable();

describe.each([
  ["sqlite", true],
  ["postgres", postgres],
] as const)("a push to a hosted repository runs its workflows (%s)", (dialect, available) => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let runs: PushRuns;
  let base: string;
  let admin: string;
  let developer: string;
  const errors: unknown[] = [];

  beforeAll(async () => {
    if (!available) return;
    database = dialect === "sqlite" ? sqliteDatabase() : await postgresDatabase();
    store = await openStore(database.options);
    const dataDir = mkdtempSync(join(tmpdir(), "trunkline-server-"));
    const box = new SecretBox(randomBytes(32));
    const placeholder = await buildApp({ store, box, logger: false });
    runs = new PushRuns({
      store,
      box,
      dataDir,
      log: {
        ...placeholder.log,
        error: (...args: unknown[]) => errors.push(args),
      } as typeof placeholder.log,
    });
    await placeholder.close();
    app = await buildApp({
      store,
      box,
      logger: false,
      dataDir,
      onPush: runs.onPush,
      cancelRun: (id) => runs.cancel(id),
      dispatch: (repo, request) => runs.dispatch(repo, request),
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    admin = (await createToken(store.db, "admin", "admin")).token;
    developer = (await createToken(store.db, "dev", "developer")).token;
    await app.inject({
      method: "POST",
      url: "/api/v1/repositories",
      headers: { authorization: `Bearer ${admin}` },
      payload: { name: "app" },
    });
    const repo = await store.db.selectFrom("repositories").select("id").executeTakeFirstOrThrow();
    await setSecret(
      store.db,
      box,
      { kind: "repository", repositoryId: repo.id },
      "DEPLOY_KEY",
      "k3y",
    );
  });
  afterAll(async () => {
    if (!available) return;
    await app.close();
    await store.close();
    await database.drop();
  });

  test.skipIf(!available)("runs, jobs and masked logs are in the store and the API", async () => {
    const { dir: work } = await committed(
      { ".github/workflows/ci.yml": WORKFLOW, "README.md": "hello\n" },
      "first",
    );
    const remote = `${base.replace("://", `://x:${developer}@`)}/git/app.git`;
    await git(work, "push", "-q", remote, "main", "main:feature/x");
    await runs.idle();
    const headers = { authorization: `Bearer ${admin}` };
    const list = (await app.inject({ url: "/api/v1/repositories/app/runs", headers })).json();
    expect(
      list.map((r: { ref: string; status: string; workflow: string }) => [
        r.workflow,
        r.ref,
        r.status,
      ]),
    ).toEqual([["CI", "refs/heads/main", "success"]]);
    const run = (await app.inject({ url: `/api/v1/runs/${list[0].id}`, headers })).json();
    expect(run.jobs.map((j: { key: string; status: string }) => [j.key, j.status])).toEqual([
      [".github/workflows/ci.yml / build", "success"],
      [".github/workflows/ci.yml / test", "success"],
    ]);
    const build = run.jobs.find((j: { key: string }) => j.key.endsWith("build"));
    const logs = (await app.inject({ url: `/api/v1/jobs/${build.id}/logs`, headers })).json();
    expect(logs.lines.join("\n")).toContain("secret is ***");
    expect(logs.lines.join("\n")).not.toContain("k3y");
    expect(errors).toEqual([]);
  });

  test.skipIf(!available)(
    "a running run is cancelled through the API; a viewer may not",
    async () => {
      const { dir: work } = await committed(
        {
          ".github/workflows/slow.yml":
            "name: Slow\non: push\njobs:\n  wait:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo started && sleep 30\n",
        },
        "slow",
      );
      await git(
        work,
        "push",
        "-q",
        "-f",
        `${base.replace("://", `://x:${developer}@`)}/git/app.git`,
        "main",
      );
      const headers = { authorization: `Bearer ${admin}` };
      let run: { id: string; status: string } | undefined;
      for (let i = 0; i < 100 && run?.status !== "in_progress"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        run = (await app.inject({ url: "/api/v1/repositories/app/runs", headers }))
          .json()
          .find((r: { workflow: string }) => r.workflow === "Slow");
      }
      const viewer = (await createToken(store.db, "look", "viewer")).token;
      expect(
        (
          await app.inject({
            method: "POST",
            url: `/api/v1/runs/${run?.id}/cancel`,
            headers: { authorization: `Bearer ${viewer}` },
          })
        ).statusCode,
      ).toBe(403);
      expect(
        (
          await app.inject({
            method: "POST",
            url: `/api/v1/runs/${run?.id}/cancel`,
            headers: { authorization: `Bearer ${developer}` },
          })
        ).statusCode,
      ).toBe(202);
      await runs.idle();
      const after = (await app.inject({ url: `/api/v1/runs/${run?.id}`, headers })).json();
      expect(after.status).toBe("cancelled");
      expect(after.jobs.map((j: { status: string }) => j.status)).toEqual(["cancelled"]);
      expect(
        (
          await app.inject({ method: "POST", url: `/api/v1/runs/${run?.id}/cancel`, headers })
        ).json(),
      ).toEqual({
        code: "not_running",
        message: `run '${run?.id}' is not running (cancelled)`,
      });
    },
  );

  test.skipIf(!available)("manual dispatch with typed inputs, and its refusals", async () => {
    const { dir: work } = await committed(
      {
        ".github/workflows/deploy.yml": [
          "name: Deploy",
          "on:",
          "  workflow_dispatch:",
          "    inputs:",
          "      target:",
          "        type: choice",
          "        options: [staging, production]",
          "        required: true",
          "      dry-run:",
          "        type: boolean",
          "        default: false",
          "jobs:",
          "  deploy:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          '      - run: test "${{ inputs.target }}" = staging && test "${{ inputs.dry-run }}" = true',
          "",
        ].join("\n"),
      },
      "deploy",
    );
    await git(
      work,
      "push",
      "-q",
      "-f",
      `${base.replace("://", `://x:${developer}@`)}/git/app.git`,
      "main",
    );
    await runs.idle();
    const auth = { authorization: `Bearer ${developer}` };
    const dispatch = (payload: Record<string, unknown>) =>
      app.inject({
        method: "POST",
        url: "/api/v1/repositories/app/dispatch",
        headers: auth,
        payload,
      });
    const bad = await dispatch({ workflow: "deploy.yml", inputs: { target: "qa" } });
    expect(bad.json()).toEqual({
      code: "cannot_dispatch",
      message:
        ".github/workflows/deploy.yml: input 'target' must be one of staging, production, not 'qa'",
    });
    expect((await dispatch({ workflow: "nope.yml" })).json().message).toBe(
      "no valid workflow 'nope.yml' at refs/heads/main",
    );
    expect((await dispatch({ workflow: "deploy.yml", ref: "gone" })).json().message).toBe(
      "no ref 'gone' in app",
    );
    const ok = await dispatch({
      workflow: "deploy.yml",
      inputs: { target: "staging", "dry-run": "true" },
    });
    expect(ok.statusCode).toBe(201);
    await runs.idle();
    const run = (
      await app.inject({
        url: `/api/v1/runs/${ok.json().runIds[0]}`,
        headers: { authorization: `Bearer ${admin}` },
      })
    ).json();
    expect([run.event, run.status]).toEqual(["workflow_dispatch", "success"]);
  });
});
